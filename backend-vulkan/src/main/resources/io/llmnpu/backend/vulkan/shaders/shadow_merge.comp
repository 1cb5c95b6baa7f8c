// ShadowMerge for one row slice of W: y = npu + shadow, except entries whose NPU value reached the
// saturation limit, which are recomputed as the float product W[r] . x[t] (a saturated output lost an
// unknown part of itself).
layout(local_size_x = LWS) in;
layout(std430, binding = 0) readonly buffer A { float npu[]; };
layout(std430, binding = 1) readonly buffer S { float shadow[]; };
layout(std430, binding = 2) readonly buffer X { float x[]; };
layout(std430, binding = 3) readonly buffer W { uint w[]; };
layout(std430, binding = 4) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint N; uint K; uint rowBase; uint rows; uint scaleOff; float limit; } pc;

#include "weights.glsl"

void main() {
    uint r = gl_GlobalInvocationID.x;
    uint t = gl_WorkGroupID.y;
    if (r >= pc.rows) {
        return;
    }
    uint i = t * pc.N + pc.rowBase + r;
    float a = npu[i];
    if (abs(a) >= pc.limit) {
        uint xb = t * pc.K;
        uint base = r * pc.K;
        float acc = 0.0;
        for (uint c = 0u; c < pc.K; c++) {
            acc = fma(load_weight(base + c, pc.scaleOff), x[xb + c], acc);
        }
        y[i] = acc;
    } else {
        y[i] = a + shadow[i];
    }
}
