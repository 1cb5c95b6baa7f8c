// LayerNorm without its bias: y[t] = (x[t] - mean) / sqrt(var + eps) * weight, one work-group per row;
// the variance is summed around the mean in a second pass (no cancellation). A bias follows as an
// AddBias dispatch.
layout(local_size_x = LWS) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { uint w[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint n; float eps; } pc;

#include "weights.glsl"
#include "reduce.glsl"

void main() {
    uint base = gl_WorkGroupID.x * pc.n;
    uint lid = gl_LocalInvocationID.x;
    float sum = 0.0;
    for (uint i = lid; i < pc.n; i += LWS) {
        sum += x[base + i];
    }
    float mean = workgroup_sum(sum) / float(pc.n);
    float squares = 0.0;
    for (uint i = lid; i < pc.n; i += LWS) {
        float d = x[base + i] - mean;
        squares = fma(d, d, squares);
    }
    float scale = 1.0 / sqrt(workgroup_sum(squares) / float(pc.n) + pc.eps);
    for (uint i = lid; i < pc.n; i += LWS) {
        y[base + i] = (x[base + i] - mean) * scale * load_weight(i, 0u);
    }
}
