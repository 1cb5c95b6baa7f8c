// Sparse outlier product for shadow execution: y[t][n] += sum over c in channels of
// W[n][channels[c]] * x[t][channels[c]]. Only a handful of input channels carry outliers, so each
// work-item walks the short channel list for one output rather than the whole row.
__kernel void outlier_gemm(__global const float* x, __global const uchar* w, int wtype,
                           __global const int* channels, int count, __global float* y, int T, int N, int K) {
    int n = get_global_id(0);
    int t = get_global_id(1);
    if (n >= N || t >= T) {
        return;
    }
    __global const float* xr = x + (size_t) t * K;
    size_t base = (size_t) n * K;
    float acc = 0.0f;
    for (int c = 0; c < count; c++) {
        int ch = channels[c];
        acc = fma(load_weight(w, base + ch, wtype), xr[ch], acc);
    }
    y[(size_t) t * N + n] += acc;
}
