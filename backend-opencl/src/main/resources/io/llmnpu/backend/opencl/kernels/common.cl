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

// Weight type codes for kernels that take the type as an argument (must match KernelNames.weightCode).
#define WT_F32 0
#define WT_F16 1
#define WT_BF16 2
#define WT_Q8_0 3
#define WT_Q4_0 4

// Element i of a weight of any type. Ops that touch each weight value once (norm, gather, the sparse
// outlier product) use this one switch instead of a kernel per type: the branch is the same for every
// item, and fewer kernels mean less driver compile time.
inline float load_weight(__global const uchar* w, size_t i, int type) {
    switch (type) {
        case WT_F16: return load_f16(w, i);
        case WT_BF16: return load_bf16(w, i);
        case WT_Q8_0: return load_q8_0(w, i);
        case WT_Q4_0: return load_q4_0(w, i);
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
