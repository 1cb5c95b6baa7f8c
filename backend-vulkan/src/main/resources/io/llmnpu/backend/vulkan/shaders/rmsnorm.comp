// RMSNorm: y[t] = x[t] / sqrt(mean(x[t]^2) + eps) * weight, one work-group per row.
layout(local_size_x = LWS) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { uint w[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint n; float eps; } pc;

#include "weights.glsl"
#include "reduce.glsl"

void main() {
    uint row = gl_WorkGroupID.x;
    uint lid = gl_LocalInvocationID.x;
    uint base = row * pc.n;
    float squares = 0.0;
    for (uint i = lid; i < pc.n; i += LWS) {
        float v = x[base + i];
        squares = fma(v, v, squares);
    }
    float total = workgroup_sum(squares);
    float scale = 1.0 / sqrt(total / float(pc.n) + pc.eps);
    for (uint i = lid; i < pc.n; i += LWS) {
        y[base + i] = x[base + i] * scale * load_weight(i, 0u);
    }
}
