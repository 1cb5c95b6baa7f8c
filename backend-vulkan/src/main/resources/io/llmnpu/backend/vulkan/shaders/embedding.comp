// Embedding gather for one row slice of the table: out[t] = table[tokens[t]] for every token whose id
// falls in this slice's rows (the host checked every id against the vocabulary).
layout(local_size_x = LWS) in;
layout(std430, binding = 0) readonly buffer Tokens { int tokens[]; };
layout(std430, binding = 1) readonly buffer W { uint w[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint dim; uint rowBase; uint rows; uint scaleOff; } pc;

#include "weights.glsl"

void main() {
    uint e = gl_GlobalInvocationID.x;
    uint t = gl_WorkGroupID.y;
    int token = tokens[t];
    if (e >= pc.dim || token < int(pc.rowBase) || token >= int(pc.rowBase + pc.rows)) {
        return;
    }
    y[t * pc.dim + e] = load_weight((uint(token) - pc.rowBase) * pc.dim + e, pc.scaleOff);
}
