// Element i of a weight slice held in the buffer array w[] (uint words), in the layout WeightLayout
// writes: F32 words; F16 and BF16 two values per word; Q8_0 and Q4_0 split into all quants, then all
// F16 block scales starting at word scaleOff; Q4_K blocks as in the file (144 bytes, whole words) and
// Q6_K blocks as in the file padded to 212 bytes (53 words), scaleOff unused. WT selects the type
// (WT_* below, WeightLayout.typeCode).
#define WT_F32 0
#define WT_F16 1
#define WT_BF16 2
#define WT_Q8_0 3
#define WT_Q4_0 4
#define WT_Q4_K 5
#define WT_Q6_K 6

float half_at(uint halfIndex) {
    vec2 pair = unpackHalf2x16(w[halfIndex >> 1]);
    return (halfIndex & 1u) == 0u ? pair.x : pair.y;
}

// The signed byte j (0..3) of word v.
int sbyte(uint v, uint j) {
    return bitfieldExtract(int(v), int(j * 8u), 8);
}

// Unsigned byte b of the slice.
uint ubyte_at(uint b) {
    return (w[b >> 2] >> ((b & 3u) * 8u)) & 0xFFu;
}

float load_weight(uint i, uint scaleOff) {
#if WT == WT_F32
    return uintBitsToFloat(w[i]);
#elif WT == WT_F16
    return half_at(i);
#elif WT == WT_BF16
    uint word = w[i >> 1];
    return uintBitsToFloat((i & 1u) == 0u ? word << 16 : word & 0xFFFF0000u);
#elif WT == WT_Q8_0
    uint b = i >> 5;
    uint j = i & 31u;
    return half_at(scaleOff * 2u + b) * float(sbyte(w[b * 8u + (j >> 2)], j & 3u));
#elif WT == WT_Q4_0
    uint b = i >> 5;
    uint j = i & 31u;
    uint byteIndex = j & 15u;
    uint bits = (w[b * 4u + (byteIndex >> 2)] >> ((byteIndex & 3u) * 8u)) & 0xFFu;
    int q = int(j < 16u ? (bits & 15u) : (bits >> 4));
    return half_at(scaleOff * 2u + b) * float(q - 8);
#elif WT == WT_Q4_K
    // 8 sub-blocks of 32 with 6-bit scales and mins; nibble bytes 32p..32p+31 hold sub-blocks 2p, 2p+1.
    uint b = i >> 8;
    uint j = i & 255u;
    uint base = b * 144u;
    vec2 dm = unpackHalf2x16(w[b * 36u]);
    uint sub = j >> 5;
    uint sc;
    uint mn;
    if (sub < 4u) {
        sc = ubyte_at(base + 4u + sub) & 63u;
        mn = ubyte_at(base + 8u + sub) & 63u;
    } else {
        uint hi = ubyte_at(base + 8u + sub);
        sc = (hi & 15u) | ((ubyte_at(base + sub) >> 6) << 4);
        mn = (hi >> 4) | ((ubyte_at(base + 4u + sub) >> 6) << 4);
    }
    uint bits = ubyte_at(base + 16u + (sub >> 1) * 32u + (j & 31u));
    uint q = (sub & 1u) == 0u ? (bits & 15u) : (bits >> 4);
    return dm.x * float(sc) * float(q) - dm.y * float(mn);
#elif WT == WT_Q6_K
    // Value 128h + l + 32s: low bits from ql[64h + l + 32(s & 1)] (high nibble when s >= 2), bits 2s, 2s+1
    // of qh[32h + l], scale 8h + 2s + l / 16 (signed), F16 d at byte 208.
    uint b = i >> 8;
    uint j = i & 255u;
    uint base = b * 212u;
    uint h = j >> 7;
    uint s = (j >> 5) & 3u;
    uint l = j & 31u;
    uint lowByte = ubyte_at(base + 64u * h + l + 32u * (s & 1u));
    uint low = s < 2u ? (lowByte & 15u) : (lowByte >> 4);
    uint high = (ubyte_at(base + 128u + 32u * h + l) >> (2u * s)) & 3u;
    int q = int(low | (high << 4)) - 32;
    int sc = bitfieldExtract(int(ubyte_at(base + 192u + 8u * h + 2u * s + (l >> 4))), 0, 8);
    return half_at(b * 106u + 104u) * float(sc) * float(q);
#else
#error unknown weight type
#endif
}
