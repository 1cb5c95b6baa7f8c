// Shared definitions for every llmnpu OpenCL kernel. Weights stay on the device in their file
// layout (GGUF blocks for quantized types) and are decoded where they are read, so a Q4_0 model
// takes a quarter of the memory of its F32 form on the device too.

#ifndef TS
#define TS 16          // GEMM tile edge: a TS x TS work-group computes a TS x TS block of outputs
#endif
#define TK 32          // GEMM tile depth: one quantization block, so quantized tiles never straddle blocks
#define GEMV_LWS 64    // work-items that share one output row in matrix-vector products
#define NORM_LWS 64    // work-items that share one row in RMSNorm
#define ATT_LWS 64     // work-items per (row, head) in attention; also the key tile length
#define MAX_HEAD_DIM 512
#define ATT_DIMS_PER_ITEM (MAX_HEAD_DIM / ATT_LWS)

#define QK 32          // values per Q8_0 / Q4_0 block
#define Q8_0_BYTES 34  // f16 scale + 32 signed bytes
#define Q4_0_BYTES 18  // f16 scale + 16 bytes of nibbles
#define QK_K 256       // values per k-quant super-block
#define Q4_K_BYTES 144 // f16 d, f16 dmin, 12 bytes of 6-bit scales and mins, 128 bytes of nibbles
#define Q6_K_BYTES 210 // 128 bytes of low nibbles, 64 bytes of high bit pairs, 16 int8 scales, f16 d

// Element i of a weight tensor in each storage type (i counts values, not bytes).
inline float load_f32(__global const uchar* w, size_t i) {
    return ((__global const float*) w)[i];
}

inline float load_f16(__global const uchar* w, size_t i) {
    return vload_half(i, (__global const half*) w);
}

inline float load_bf16(__global const uchar* w, size_t i) {
    return as_float(((uint) ((__global const ushort*) w)[i]) << 16);
}

inline float load_q8_0(__global const uchar* w, size_t i) {
    __global const uchar* block = w + (i / QK) * Q8_0_BYTES;
    float d = vload_half(0, (__global const half*) block);
    return d * (float) ((__global const char*) (block + 2))[i % QK];
}

// Q4_0: byte j of a block holds element j in its low nibble and element j + 16 in its high nibble.
inline float load_q4_0(__global const uchar* w, size_t i) {
    __global const uchar* block = w + (i / QK) * Q4_0_BYTES;
    float d = vload_half(0, (__global const half*) block);
    uint j = (uint) (i % QK);
    uchar b = block[2 + (j & 15)];
    int q = j < 16 ? (b & 15) : (b >> 4);
    return d * (float) (q - 8);
}

// Q4_K: 8 sub-blocks of 32 with a 6-bit scale and min each; value = d * scale * q - dmin * min.
// Scale and min of sub-block j < 4: s[j] & 63 and s[j + 4] & 63; for j >= 4 their low four bits are
// in s[j + 4] (low and high nibble) and their top two bits in the top bits of s[j - 4] and s[j].
inline float2 q4_k_scale_min(__global const uchar* s, int j) {
    if (j < 4) {
        return (float2) (s[j] & 63, s[j + 4] & 63);
    }
    return (float2) ((s[j + 4] & 15) | ((s[j - 4] >> 6) << 4), (s[j + 4] >> 4) | ((s[j] >> 6) << 4));
}

// Nibble bytes 32p..32p+31 hold sub-block 2p (low nibbles) and 2p + 1 (high nibbles).
inline float load_q4_k(__global const uchar* w, size_t i) {
    __global const uchar* block = w + (i / QK_K) * Q4_K_BYTES;
    uint j = (uint) (i % QK_K);
    uint sub = j / 32;
    float2 sm = q4_k_scale_min(block + 4, sub);
    uchar b = block[16 + 32 * (sub / 2) + j % 32];
    int q = (sub & 1) ? (b >> 4) : (b & 15);
    return vload_half(0, (__global const half*) block) * sm.x * (float) q
            - vload_half(1, (__global const half*) block) * sm.y;
}

// Q6_K: value v = 128h + 32s + l (s = 0..3, l = 0..31) takes the low (s < 2) or high nibble of
// ql[64h + 32(s % 2) + l] and bits 2s, 2s + 1 of qh[32h + l], minus 32, times d * scale[v / 16].
inline float load_q6_k(__global const uchar* w, size_t i) {
    __global const uchar* block = w + (i / QK_K) * Q6_K_BYTES;
    uint v = (uint) (i % QK_K);
    uint h = v / 128;
    uint s = (v % 128) / 32;
    uint l = v % 32;
    uchar lowByte = block[64 * h + 32 * (s & 1) + l];
    int low = s < 2 ? (lowByte & 15) : (lowByte >> 4);
    int high = (block[128 + 32 * h + l] >> (2 * s)) & 3;
    float d = vload_half(0, (__global const half*) (block + 208));
    return d * (float) ((__global const char*) block)[192 + v / 16] * (float) ((low | (high << 4)) - 32);
}

// Weight type codes for kernels that take the type as an argument (must match KernelNames.weightCode).
#define WT_F32 0
#define WT_F16 1
#define WT_BF16 2
#define WT_Q8_0 3
#define WT_Q4_0 4
#define WT_Q4_K 5
#define WT_Q6_K 6

// Element i of a weight of any type. Ops that touch each weight value once (norm, gather, the sparse
// outlier product) use this one switch instead of a kernel per type: the branch is the same for every
// item, and fewer kernels mean less driver compile time.
inline float load_weight(__global const uchar* w, size_t i, int type) {
    switch (type) {
        case WT_F16: return load_f16(w, i);
        case WT_BF16: return load_bf16(w, i);
        case WT_Q8_0: return load_q8_0(w, i);
        case WT_Q4_0: return load_q4_0(w, i);
        case WT_Q4_K: return load_q4_k(w, i);
        case WT_Q6_K: return load_q6_k(w, i);
        default: return load_f32(w, i);
    }
}

inline float hsum16(float16 v) {
    float8 a = v.lo + v.hi;
    float4 b = a.lo + a.hi;
    float2 c = b.lo + b.hi;
    return c.x + c.y;
}

// Tree reduction of NORM_LWS / GEMV_LWS partial sums held in local memory; every item returns the total.
inline float reduce_sum_local(__local float* part, int lid, int n) {
    for (int stride = n / 2; stride > 0; stride >>= 1) {
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lid < stride) {
            part[lid] += part[lid + stride];
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    return part[0];
}
