// Linear for a few rows (decode): y[t][rowBase + r] = W[r] . x[t] for the rows r of a weight slice and
// every token row t (work-groups along y). With subgroups, each subgroup computes whole rows (its
// invocations stride over K, one subgroup sum per row, no barrier), ROWS rows per work-group; without,
// a work-group computes one row and reduces through shared memory. Quantized weights go a whole block
// at a time: one scale, then 32 values from aligned words.
layout(local_size_x = LWS) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { uint w[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint N; uint K; uint rowBase; uint firstRow; uint rows; uint scaleOff; } pc;

#include "weights.glsl"
#if !SUBGROUPS
#include "reduce.glsl"
#endif

// The part of row r's dot product with x[t] that lane `lane` of `lanes` computes.
float partial_dot(uint r, uint xb, uint lane, uint lanes) {
    float acc = 0.0;
#if WT == WT_Q8_0 || WT == WT_Q4_0
    uint blocks = pc.K / 32u;
    for (uint b = lane; b < blocks; b += lanes) {
        uint gb = r * blocks + b;
        float d = half_at(pc.scaleOff * 2u + gb);
        uint xo = xb + b * 32u;
        float s = 0.0;
#if WT == WT_Q8_0
        for (uint q = 0u; q < 8u; q++) {
            uint v = w[gb * 8u + q];
            uint o = xo + q * 4u;
            s += float(sbyte(v, 0u)) * x[o] + float(sbyte(v, 1u)) * x[o + 1u]
               + float(sbyte(v, 2u)) * x[o + 2u] + float(sbyte(v, 3u)) * x[o + 3u];
        }
#else
        for (uint q = 0u; q < 4u; q++) {
            uint v = w[gb * 4u + q];
            uint o = xo + q * 4u;
            for (uint j = 0u; j < 4u; j++) {
                uint bits = (v >> (j * 8u)) & 0xFFu;
                s += float(int(bits & 15u) - 8) * x[o + j] + float(int(bits >> 4) - 8) * x[o + j + 16u];
            }
        }
#endif
        acc += d * s;
    }
#else
    uint base = r * pc.K;
    for (uint k = lane; k < pc.K; k += lanes) {
        acc += load_weight(base + k, 0u) * x[xb + k];
    }
#endif
    return acc;
}

void main() {
    uint t = gl_WorkGroupID.y;
    uint xb = t * pc.K;
#if SUBGROUPS
    uint first = pc.firstRow + gl_WorkGroupID.x * ROWS;
    for (uint i = gl_SubgroupID; i < ROWS; i += gl_NumSubgroups) {
        uint r = first + i;
        if (r >= pc.rows) {
            break;
        }
        float total = subgroupAdd(partial_dot(r, xb, gl_SubgroupInvocationID, gl_SubgroupSize));
        if (subgroupElect()) {
            y[t * pc.N + pc.rowBase + r] = total;
        }
    }
#else
    uint r = pc.firstRow + gl_WorkGroupID.x;
    float total = workgroup_sum(partial_dot(r, xb, gl_LocalInvocationID.x, LWS));
    if (gl_LocalInvocationID.x == 0u) {
        y[t * pc.N + pc.rowBase + r] = total;
    }
#endif
}
