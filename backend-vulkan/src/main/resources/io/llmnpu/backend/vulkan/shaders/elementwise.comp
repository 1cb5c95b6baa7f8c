// Elementwise ops over n values (OP: 0 = SiLU(a) * b, the gated FFN activation; 1 = a + b). A long
// vector is spread over a second grid dimension (span values per row of work-groups), since work-group
// counts per dimension are limited.
layout(local_size_x = LWS) in;
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push { uint n; uint span; } pc;

void main() {
    uint i = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * pc.span;
    if (i >= pc.n) {
        return;
    }
#if OP == 0
    float g = a[i];
    o[i] = g / (1.0 + exp(-g)) * b[i];
#else
    o[i] = a[i] + b[i];
#endif
}
