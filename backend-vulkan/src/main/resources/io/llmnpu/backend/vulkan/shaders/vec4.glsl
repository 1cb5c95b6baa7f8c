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
#else
    // K-quants: four scalar decodes (the four values share a sub-block, so this is correct, not fast).
    uint i = i4 * 4u;
    return vec4(load_weight(i, scaleOff), load_weight(i + 1u, scaleOff), load_weight(i + 2u, scaleOff),
            load_weight(i + 3u, scaleOff));
#endif
}

// Quantized blocks a whole block at a time: the 32 values of block gb as eight vec4s (scale applied
// by the caller), from two (Q8_0) or one (Q4_0) aligned uvec4 loads.
#if WT == WT_Q8_0 || WT == WT_Q4_0
void load_block(uint gb, out vec4 v[8]) {
#if WT == WT_Q8_0
    uvec4 lo = w4[gb * 2u];
    uvec4 hi = w4[gb * 2u + 1u];
    uint words[8] = uint[8](lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w);
    for (uint e = 0u; e < 8u; e++) {
        int q = int(words[e]);
        v[e] = vec4(bitfieldExtract(q, 0, 8), bitfieldExtract(q, 8, 8), bitfieldExtract(q, 16, 8), bitfieldExtract(q, 24, 8));
    }
#else
    uvec4 packed = w4[gb];
    for (uint e = 0u; e < 4u; e++) {
        uint q = packed[e];
        uvec4 bytes = uvec4(q, q >> 8, q >> 16, q >> 24);
        v[e] = vec4(bytes & 15u) - 8.0;
        v[e + 4u] = vec4((bytes >> 4) & 15u) - 8.0;
    }
#endif
}
#endif
