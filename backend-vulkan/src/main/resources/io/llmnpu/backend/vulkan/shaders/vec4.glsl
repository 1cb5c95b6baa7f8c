// Four consecutive weight values at once, for shaders that read whole vec4s: element 4 * i4 .. 4 * i4 + 3
// of the slice in w[] (rows of K % 4 == 0 values, so a group of four never straddles rows or blocks).
// Included after weights.glsl, where WT and the buffer w[] are defined.
layout(std430, binding = 1) readonly buffer W4 { uvec4 w4[]; };
layout(std430, binding = 1) readonly buffer W2 { uvec2 w2[]; };

vec4 load_weight4(uint i4, uint scaleOff) {
#if WT == WT_F32
    return uintBitsToFloat(w4[i4]);
#elif WT == WT_F16
    uvec2 h = w2[i4];
    return vec4(unpackHalf2x16(h.x), unpackHalf2x16(h.y));
#elif WT == WT_BF16
    uvec2 h = w2[i4];
    return uintBitsToFloat(uvec4(h.x << 16, h.x & 0xFFFF0000u, h.y << 16, h.y & 0xFFFF0000u));
#elif WT == WT_Q8_0
    uint b = i4 >> 3;
    int v = int(w[i4]);
    return half_at(scaleOff * 2u + b)
            * vec4(bitfieldExtract(v, 0, 8), bitfieldExtract(v, 8, 8), bitfieldExtract(v, 16, 8), bitfieldExtract(v, 24, 8));
#elif WT == WT_Q4_0
    // Elements j..j+3 of a block: low nibbles of bytes j..j+3 (j < 16), or high nibbles of bytes j-16..j-13.
    uint b = i4 >> 3;
    uint j4 = i4 & 7u;
    uint v = w[b * 4u + (j4 & 3u)];
    uint shift = j4 < 4u ? 0u : 4u;
    uvec4 q = (uvec4(v, v >> 8, v >> 16, v >> 24) >> shift) & 15u;
    return half_at(scaleOff * 2u + b) * (vec4(q) - 8.0);
#endif
}
