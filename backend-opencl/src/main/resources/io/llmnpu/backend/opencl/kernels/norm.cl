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

// LayerNorm: y[t] = (x[t] - mean) / sqrt(var + eps) * weight + bias, one work-group per row; the
// variance is summed around the mean in a second pass. hasBias 0 skips the bias.
__kernel __attribute__((reqd_work_group_size(NORM_LWS, 1, 1)))
void layernorm(__global const float* x, __global const uchar* w, int wtype, __global const uchar* b, int btype,
               int hasBias, __global float* y, int n, float eps) {
    __local float part[NORM_LWS];
    int row = get_group_id(0);
    int lid = get_local_id(0);
    __global const float* xr = x + (size_t) row * n;
    __global float* yr = y + (size_t) row * n;
    float sum = 0.0f;
    for (int i = lid; i < n; i += NORM_LWS) {
        sum += xr[i];
    }
    part[lid] = sum;
    float mean = reduce_sum_local(part, lid, NORM_LWS) / (float) n;
    barrier(CLK_LOCAL_MEM_FENCE);
    float squares = 0.0f;
    for (int i = lid; i < n; i += NORM_LWS) {
        float d = xr[i] - mean;
        squares = fma(d, d, squares);
    }
    part[lid] = squares;
    float total = reduce_sum_local(part, lid, NORM_LWS);
    float scale = 1.0f / sqrt(total / (float) n + eps);
    for (int i = lid; i < n; i += NORM_LWS) {
        float v = (xr[i] - mean) * scale * load_weight(w, i, wtype);
        yr[i] = hasBias ? v + load_weight(b, i, btype) : v;
    }
}
