// AddBias: out[t][e] = in[t][e] + bias[e] over [rows, width], the bias a weight vector of any plain
// type. in and out may be the same buffer (a LayerNorm's bias added in place).
layout(local_size_x = LWS) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { uint w[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint n; uint span; uint width; } pc;

#include "weights.glsl"

void main() {
    uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * pc.span;
    if (i < pc.n) {
        y[i] = x[i] + load_weight(i % pc.width, 0u);
    }
}
