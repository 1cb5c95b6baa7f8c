// Writes the k and v rows of every non-padding row t into cache row positions[t], and into the
// host-visible outbox row t, from which the host copies the new rows into its own cache tensors.
layout(local_size_x = LWS) in;
layout(std430, binding = 0) readonly buffer K { float k[]; };
layout(std430, binding = 1) readonly buffer V { float v[]; };
layout(std430, binding = 2) readonly buffer P { int positions[]; };
layout(std430, binding = 3) buffer KC { float kCache[]; };
layout(std430, binding = 4) buffer VC { float vCache[]; };
layout(std430, binding = 5) writeonly buffer KO { float kOut[]; };
layout(std430, binding = 6) writeonly buffer VO { float vOut[]; };
layout(push_constant) uniform Push { uint kvWidth; uint ctx; } pc;

void main() {
    uint e = gl_GlobalInvocationID.x;
    uint t = gl_WorkGroupID.y;
    if (e >= pc.kvWidth) {
        return;
    }
    int pos = positions[t];
    if (pos < 0 || uint(pos) >= pc.ctx) {
        return;
    }
    uint src = t * pc.kvWidth + e;
    uint dst = uint(pos) * pc.kvWidth + e;
    float kv = k[src];
    float vv = v[src];
    kCache[dst] = kv;
    vCache[dst] = vv;
    kOut[src] = kv;
    vOut[src] = vv;
}
