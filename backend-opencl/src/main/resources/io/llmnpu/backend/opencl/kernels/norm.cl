// RMSNorm: y[t] = x[t] / sqrt(mean(x[t]^2) + eps) * weight, one work-group per row.
__kernel __attribute__((reqd_work_group_size(NORM_LWS, 1, 1)))
void rmsnorm(__global const float* x, __global const uchar* w, int wtype, __global float* y, int n, float eps) {
    __local float part[NORM_LWS];
    int row = get_group_id(0);
    int lid = get_local_id(0);
    __global const float* xr = x + (size_t) row * n;
    __global float* yr = y + (size_t) row * n;
    float squares = 0.0f;
    for (int i = lid; i < n; i += NORM_LWS) {
        squares = fma(xr[i], xr[i], squares);
    }
    part[lid] = squares;
    float total = reduce_sum_local(part, lid, NORM_LWS);
    float scale = 1.0f / sqrt(total / (float) n + eps);
    for (int i = lid; i < n; i += NORM_LWS) {
        yr[i] = xr[i] * scale * load_weight(w, i, wtype);
    }
}
