// Causal grouped-query attention over the device-resident KV cache [ctx, kvHeads * headDim]: one
// work-group per (query head, row). Keys go in tiles of LWS positions with an online softmax (running
// maximum and sum, rescaled per tile), so the cache length is not bounded by shared memory. Each
// invocation scores one key of a tile and owns output dimensions lid, lid + LWS, ... (DPI of them).
// A score is scale * q.k, soft-capped (cap * tanh(s / cap)) when softCap > 0; with a sliding window
// row t sees only the window positions ending at its own.
layout(local_size_x = LWS) in;
layout(std430, binding = 0) readonly buffer Q { float q[]; };
layout(std430, binding = 1) readonly buffer P { int positions[]; };
layout(std430, binding = 2) readonly buffer KC { float kCache[]; };
layout(std430, binding = 3) readonly buffer VC { float vCache[]; };
layout(std430, binding = 4) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push { uint heads; uint kvHeads; uint headDim; uint ctx; float scale; float softCap; uint window; } pc;

#include "reduce.glsl"
#include "tanh.glsl"

shared float qs[LWS * DPI];
shared float p[LWS];

void main() {
    uint h = gl_WorkGroupID.x;
    uint t = gl_WorkGroupID.y;
    uint lid = gl_LocalInvocationID.x;
    uint qWidth = pc.heads * pc.headDim;
    uint kvWidth = pc.kvHeads * pc.headDim;
    uint ob = t * qWidth + h * pc.headDim;
    int position = positions[t];
    if (position < 0) {
        for (uint d = lid; d < pc.headDim; d += LWS) {
            o[ob + d] = 0.0;
        }
        return;
    }
    uint pos = min(uint(position), pc.ctx - 1u); // the host rejects such positions; this keeps reads in bounds
    uint kvOffset = (h / (pc.heads / pc.kvHeads)) * pc.headDim;
    for (uint d = lid; d < pc.headDim; d += LWS) {
        qs[d] = q[ob + d];
    }
    barrier();

    float runningMax = -1.0 / 0.0;
    float runningSum = 0.0;
    float acc[DPI];
    for (uint i = 0u; i < DPI; i++) {
        acc[i] = 0.0;
    }
    uint first = pc.window == 0u || pos + 1u < pc.window ? 0u : pos + 1u - pc.window;
    for (uint j0 = first; j0 <= pos; j0 += LWS) {
        uint j = j0 + lid;
        float score = -1.0 / 0.0;
        if (j <= pos) {
            uint kb = j * kvWidth + kvOffset;
            float dot = 0.0;
            for (uint d = 0u; d < pc.headDim; d++) {
                dot = fma(qs[d], kCache[kb + d], dot);
            }
            score = dot * pc.scale;
            if (pc.softCap > 0.0) {
                score = pc.softCap * tanh_accurate(score / pc.softCap);
            }
        }
        float newMax = max(runningMax, workgroup_max(score));
        float e = j <= pos ? exp(score - newMax) : 0.0;
        p[lid] = e;
        float tileSum = workgroup_sum(e); // its barriers also publish p[]
        float correction = exp(runningMax - newMax);
        runningSum = runningSum * correction + tileSum;
        for (uint i = 0u; i < DPI; i++) {
            acc[i] *= correction;
        }
        uint count = min(uint(LWS), pos + 1u - j0);
        for (uint jj = 0u; jj < count; jj++) {
            float weight = p[jj];
            uint vb = (j0 + jj) * kvWidth + kvOffset;
            for (uint i = 0u; i < DPI; i++) {
                uint d = lid + i * LWS;
                if (d < pc.headDim) {
                    acc[i] = fma(weight, vCache[vb + d], acc[i]);
                }
            }
        }
        runningMax = newMax;
        barrier();
    }
    for (uint i = 0u; i < DPI; i++) {
        uint d = lid + i * LWS;
        if (d < pc.headDim) {
            o[ob + d] = acc[i] / runningSum;
        }
    }
}
