// Elementwise ops over n values. Binary (a, b): OP 0 = SiLU(a) * b (Llama's gated FFN), 1 = a + b,
// 2 = GELU(a) * b (GeGLU). Unary (b is bound to a and not read): 3 = GELU(a), 4 = a * param,
// 5 = param * tanh(a / param) (soft-capping). GELU is the tanh form GPT-2, Phi-2 and llama.cpp use.
// A long vector is spread over a second grid dimension (span values per row of work-groups), since
// work-group counts per dimension are limited.
layout(local_size_x = LWS) in;
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push { uint n; uint span; float param; } pc;

#include "tanh.glsl"

float gelu(float x) {
    return 0.5 * x * (1.0 + tanh_accurate(0.7978845608 * (x + 0.044715 * x * x * x)));
}

void main() {
    uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * pc.span;
    if (i >= pc.n) {
        return;
    }
    float x = a[i];
#if OP == 0
    o[i] = x / (1.0 + exp(-x)) * b[i];
#elif OP == 1
    o[i] = x + b[i];
#elif OP == 2
    o[i] = gelu(x) * b[i];
#elif OP == 3
    o[i] = gelu(x);
#elif OP == 4
    o[i] = x * pc.param;
#elif OP == 5
    o[i] = pc.param * tanh_accurate(x / pc.param);
#else
#error unknown elementwise op
#endif
}
