// Element i of a weight slice held in the buffer array w[] (uint words), in the layout WeightLayout
// writes: F32 words; F16 and BF16 two values per word; Q8_0 and Q4_0 split into all quants, then all
// F16 block scales starting at word scaleOff. WT selects the type (WT_* below, WeightLayout.typeCode).
#define WT_F32 0
#define WT_F16 1
#define WT_BF16 2
#define WT_Q8_0 3
#define WT_Q4_0 4

float half_at(uint halfIndex) {
    vec2 pair = unpackHalf2x16(w[halfIndex >> 1]);
    return (halfIndex & 1u) == 0u ? pair.x : pair.y;
}

// The signed byte j (0..3) of word v.
int sbyte(uint v, uint j) {
    return bitfieldExtract(int(v), int(j * 8u), 8);
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
#else
#error unknown weight type
#endif
}
