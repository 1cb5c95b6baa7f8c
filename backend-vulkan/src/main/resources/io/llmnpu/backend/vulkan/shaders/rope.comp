// Rotary position embedding, one invocation per element of [T, width]: the first rotaryDims
// dimensions of each head rotate, pairing (2i, 2i+1) (adjacent) or (i, i + rotaryDims/2) (NEOX).
// cos and sin of every (row, pair) angle arrive in a table the host computed in double precision:
// Vulkan promises only about 2^-11 absolute accuracy for sin and cos, and only on [-pi, pi].
// Rows with a negative position are padding and pass through.
layout(local_size_x = LWS) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer P { int positions[]; };
layout(std430, binding = 2) readonly buffer C { float cs[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint width; uint headDim; uint rotaryDims; uint neox; } pc;

void main() {
    uint e = gl_GlobalInvocationID.x;
    uint t = gl_WorkGroupID.y;
    if (e >= pc.width) {
        return;
    }
    uint at = t * pc.width + e;
    uint d = e % pc.headDim;
    if (positions[t] < 0 || d >= pc.rotaryDims) {
        y[at] = x[at];
        return;
    }
    uint halfDims = pc.rotaryDims / 2u;
    uint pair;
    bool first;
    int partner;
    if (pc.neox != 0u) {
        first = d < halfDims;
        pair = first ? d : d - halfDims;
        partner = first ? int(halfDims) : -int(halfDims);
    } else {
        first = (d & 1u) == 0u;
        pair = d >> 1;
        partner = first ? 1 : -1;
    }
    uint c = (t * halfDims + pair) * 2u;
    float cosA = cs[c];
    float sinA = cs[c + 1u];
    float self = x[at];
    float other = x[uint(int(at) + partner)];
    // first of a pair: a*cos - b*sin; second: a*sin + b*cos, where (a, b) is the pair in order.
    y[at] = first ? self * cosA - other * sinA : other * sinA + self * cosA;
}
