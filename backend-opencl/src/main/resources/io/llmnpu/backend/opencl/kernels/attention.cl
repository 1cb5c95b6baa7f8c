// Causal grouped-query attention over a device-resident KV cache of [ctx, kvHeads * headDim].

// Writes the k and v rows of every non-padding row t into cache row positions[t].
__kernel void kv_store(__global const float* k, __global const float* v, __global const int* positions,
                       __global float* kCache, __global float* vCache, int kvWidth, int ctx) {
    int e = get_global_id(0);
    int t = get_global_id(1);
    if (e >= kvWidth) {
        return;
    }
    int pos = positions[t];
    if (pos < 0 || pos >= ctx) {
        return;
    }
    kCache[(size_t) pos * kvWidth + e] = k[(size_t) t * kvWidth + e];
    vCache[(size_t) pos * kvWidth + e] = v[(size_t) t * kvWidth + e];
}

// One work-group per (query head, row), attending cache rows first..pos, where first is 0 or, with a
// sliding window, pos - window + 1; scores are scale * q.k, soft-capped to softCap * tanh(s / softCap)
// when softCap > 0. Keys are processed in tiles of ATT_LWS positions with an
// online softmax (running maximum and sum, rescaled per tile), so the cache length is unbounded by
// local memory. Each item scores one key of the tile and owns output dimensions lid, lid+ATT_LWS, ...
__kernel __attribute__((reqd_work_group_size(ATT_LWS, 1, 1)))
void attention(__global const float* q, __global const int* positions,
               __global const float* kCache, __global const float* vCache, __global float* out,
               int heads, int kvHeads, int headDim, int ctx, float scale, float softCap, int window) {
    __local float qs[MAX_HEAD_DIM];
    __local float weights[ATT_LWS];
    int h = get_group_id(0);
    int t = get_group_id(1);
    int lid = get_local_id(0);
    int qWidth = heads * headDim;
    int kvWidth = kvHeads * headDim;
    __global float* o = out + (size_t) t * qWidth + (size_t) h * headDim;
    int pos = positions[t];
    if (pos < 0) {
        for (int d = lid; d < headDim; d += ATT_LWS) {
            o[d] = 0.0f;
        }
        return;
    }
    pos = min(pos, ctx - 1); // the host rejects such positions; this only keeps reads in bounds
    int kvOffset = (h / (heads / kvHeads)) * headDim;
    for (int d = lid; d < headDim; d += ATT_LWS) {
        qs[d] = q[(size_t) t * qWidth + (size_t) h * headDim + d];
    }
    barrier(CLK_LOCAL_MEM_FENCE);

    float runningMax = -INFINITY;
    float runningSum = 0.0f;
    float acc[ATT_DIMS_PER_ITEM];
    for (int i = 0; i < ATT_DIMS_PER_ITEM; i++) {
        acc[i] = 0.0f;
    }
    int first = window > 0 ? max(0, pos - window + 1) : 0;
    for (int j0 = first; j0 <= pos; j0 += ATT_LWS) {
        int j = j0 + lid;
        float score = -INFINITY;
        if (j <= pos) {
            __global const float* kr = kCache + (size_t) j * kvWidth + kvOffset;
            float dot = 0.0f;
            for (int d = 0; d < headDim; d++) {
                dot = fma(qs[d], kr[d], dot);
            }
            score = dot * scale;
            if (softCap > 0.0f) {
                score = softCap * tanh(score / softCap);
            }
        }
        weights[lid] = score;
        barrier(CLK_LOCAL_MEM_FENCE);
        float tileMax = -INFINITY;
        for (int i = 0; i < ATT_LWS; i++) {
            tileMax = fmax(tileMax, weights[i]);
        }
        float newMax = fmax(runningMax, tileMax);
        barrier(CLK_LOCAL_MEM_FENCE);
        weights[lid] = j <= pos ? exp(score - newMax) : 0.0f;
        barrier(CLK_LOCAL_MEM_FENCE);
        float correction = exp(runningMax - newMax);
        runningSum *= correction;
        for (int i = 0; i < ATT_DIMS_PER_ITEM; i++) {
            acc[i] *= correction;
        }
        int count = min(ATT_LWS, pos + 1 - j0);
        for (int jj = 0; jj < count; jj++) {
            float p = weights[jj];
            runningSum += p;
            __global const float* vr = vCache + (size_t) (j0 + jj) * kvWidth + kvOffset;
            for (int i = 0; i < ATT_DIMS_PER_ITEM; i++) {
                int d = lid + i * ATT_LWS;
                if (d < headDim) {
                    acc[i] = fma(p, vr[d], acc[i]);
                }
            }
        }
        runningMax = newMax;
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < ATT_DIMS_PER_ITEM; i++) {
        int d = lid + i * ATT_LWS;
        if (d < headDim) {
            o[d] = acc[i] / runningSum;
        }
    }
}
