// Linear for a few rows (decode): y[t][rowBase + r] = W[r] . x[t], one work-group per output row r of
// the weight slice and token row t. Invocations stride over K (neighbours read neighbouring weights);
// quantized weights go a whole block at a time: one scale, then 32 values from aligned words.
layout(local_size_x = LWS) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { uint w[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint N; uint K; uint rowBase; uint firstRow; uint scaleOff; } pc;

#include "weights.glsl"
#include "reduce.glsl"

void main() {
    uint r = pc.firstRow + gl_WorkGroupID.x;
    uint t = gl_WorkGroupID.y;
    uint lid = gl_LocalInvocationID.x;
    uint xb = t * pc.K;
    float acc = 0.0;
#if WT == WT_Q8_0 || WT == WT_Q4_0
    uint blocks = pc.K / 32u;
    for (uint b = lid; b < blocks; b += LWS) {
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
    for (uint k = lid; k < pc.K; k += LWS) {
        acc += load_weight(base + k, 0u) * x[xb + k];
    }
#endif
    float total = workgroup_sum(acc);
    if (lid == 0u) {
        y[t * pc.N + pc.rowBase + r] = total;
    }
}
