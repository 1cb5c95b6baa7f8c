// Linear for a few rows (decode): y[t][rowBase + r] = W[r] . x[t] for the rows r of a weight slice and
// every token row t (work-groups along y). With subgroups, each subgroup computes whole rows (its
// invocations stride over K, one subgroup sum per row, no barrier), ROWS rows per work-group; without,
// a work-group computes one row and reduces through shared memory.
layout(local_size_x = LWS) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 1) readonly buffer W { uint w[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint N; uint K; uint rowBase; uint firstRow; uint rows; uint scaleOff; } pc;

#include "weights.glsl"
#if VEC4
#include "vec4.glsl"
#endif
#if !SUBGROUPS
#include "reduce.glsl"
#endif

// The part of row r's dot product with x[t] that lane `lane` of `lanes` computes. With VEC4 (K % 4 == 0)
// neighbouring lanes read neighbouring vec4s of weights and activations.
float partial_dot(uint r, uint xb, uint lane, uint lanes) {
    float acc = 0.0;
#if WT == WT_Q8_0 || WT == WT_Q4_0
    // One block (32 values) per lane and step: one scale, 16 or 32 bytes of quants, eight vec4s of x.
    uint blocks = pc.K / 32u;
    uint xb4 = xb / 4u;
    for (uint q = lane; q < blocks; q += lanes) {
        uint gb = r * blocks + q;
        vec4 v[8];
        load_block(gb, v);
        float s = 0.0;
        for (uint e = 0u; e < 8u; e++) {
            s += dot(v[e], x4[xb4 + q * 8u + e]);
        }
        acc = fma(half_at(pc.scaleOff * 2u + gb), s, acc);
    }
#elif VEC4
    uint k4s = pc.K / 4u;
    uint wb = r * k4s;
    uint xb4 = xb / 4u;
    for (uint k4 = lane; k4 < k4s; k4 += lanes) {
        acc += dot(load_weight4(wb + k4, pc.scaleOff), x4[xb4 + k4]);
    }
#else
    uint base = r * pc.K;
    for (uint k = lane; k < pc.K; k += lanes) {
        acc += load_weight(base + k, pc.scaleOff) * x[xb + k];
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
