// OutlierShadow for one row slice of W: y[t][rowBase + r] = sum over channels c with |x[t][c]| > thr of
// W[r][c] * (x[t][c] - clamp(x[t][c], -thr, thr)). Each invocation scans its token row (compares only)
// and reads weights only for the few channels beyond the threshold.
layout(local_size_x = LWS) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { uint w[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint N; uint K; uint rowBase; uint rows; uint scaleOff; float thr; } pc;

#include "weights.glsl"

void main() {
    uint r = gl_GlobalInvocationID.x;
    uint t = gl_WorkGroupID.y;
    if (r >= pc.rows) {
        return;
    }
    uint xb = t * pc.K;
    uint base = r * pc.K;
    float acc = 0.0;
    for (uint c = 0u; c < pc.K; c++) {
        float v = x[xb + c];
        if (abs(v) > pc.thr) {
            acc = fma(load_weight(base + c, pc.scaleOff), v - clamp(v, -pc.thr, pc.thr), acc);
        }
    }
    y[t * pc.N + pc.rowBase + r] = acc;
}
