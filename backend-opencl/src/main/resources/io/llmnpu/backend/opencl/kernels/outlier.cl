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

// OutlierShadow: y[t][n] = sum over channels c with |x[t][c]| > thr of W[n][c] * (x[t][c] - clamp(x[t][c])).
// Every item scans its row for outliers (compares only, the row stays in cache); weights are read only
// for the few channels that exceed the threshold, so the cost is far below a dense product.
__kernel void outlier_shadow(__global const float* x, __global const uchar* w, int wtype, __global float* y,
                             int T, int N, int K, float thr) {
    int n = get_global_id(0);
    int t = get_global_id(1);
    if (n >= N || t >= T) {
        return;
    }
    __global const float* xr = x + (size_t) t * K;
    size_t base = (size_t) n * K;
    float acc = 0.0f;
    for (int c = 0; c < K; c++) {
        float v = xr[c];
        if (fabs(v) > thr) {
            acc = fma(load_weight(w, base + c, wtype), v - clamp(v, -thr, thr), acc);
        }
    }
    y[(size_t) t * N + n] = acc;
}

// ShadowMerge: y = npu + shadow, except entries whose NPU value reached the saturation limit, which are
// recomputed as the full float product W[n] . x[t] (a saturated output lost an unknown part of itself).
__kernel void shadow_merge(__global const float* npu, __global const float* shadow, __global const float* x,
                           __global const uchar* w, int wtype, __global float* y, int T, int N, int K, float limit) {
    int n = get_global_id(0);
    int t = get_global_id(1);
    if (n >= N || t >= T) {
        return;
    }
    size_t i = (size_t) t * N + n;
    float a = npu[i];
    if (fabs(a) >= limit) {
        __global const float* xr = x + (size_t) t * K;
        size_t base = (size_t) n * K;
        float acc = 0.0f;
        for (int c = 0; c < K; c++) {
            acc = fma(load_weight(w, base + c, wtype), xr[c], acc);
        }
        y[i] = acc;
    } else {
        y[i] = a + shadow[i];
    }
}
