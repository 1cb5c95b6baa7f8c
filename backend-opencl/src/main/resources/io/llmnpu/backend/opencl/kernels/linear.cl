// Linear: y[t][n] = sum_k W[n][k] * x[t][k], W stored [N, K] row-major in any weight type.

// Tiled GEMM for many rows: each work-group stages a TS x TK slice of x and of W in local memory
// (decoding quantized weights once per tile) and each work-item accumulates one output.
#define DEFINE_GEMM(WT)                                                                          \
__kernel __attribute__((reqd_work_group_size(TS, TS, 1)))                                       \
void gemm_##WT(__global const float* x, __global const uchar* w, __global float* y,             \
               int T, int N, int K) {                                                           \
    __local float xs[TS][TK + 1];                                                               \
    __local float ws[TS][TK + 1];                                                               \
    int ln = get_local_id(0);                                                                   \
    int lt = get_local_id(1);                                                                   \
    int n = get_group_id(0) * TS + ln;                                                          \
    int t = get_group_id(1) * TS + lt;                                                          \
    int xrow = t;                                                                               \
    int wrow = get_group_id(0) * TS + lt;                                                       \
    float acc = 0.0f;                                                                           \
    for (int k0 = 0; k0 < K; k0 += TK) {                                                        \
        for (int kk = ln; kk < TK; kk += TS) {                                                  \
            int k = k0 + kk;                                                                    \
            xs[lt][kk] = (xrow < T && k < K) ? x[(size_t) xrow * K + k] : 0.0f;                 \
            ws[lt][kk] = (wrow < N && k < K) ? load_##WT(w, (size_t) wrow * K + k) : 0.0f;      \
        }                                                                                       \
        barrier(CLK_LOCAL_MEM_FENCE);                                                           \
        for (int kk = 0; kk < TK; kk++) {                                                       \
            acc = fma(xs[lt][kk], ws[ln][kk], acc);                                             \
        }                                                                                       \
        barrier(CLK_LOCAL_MEM_FENCE);                                                           \
    }                                                                                           \
    if (t < T && n < N) {                                                                       \
        y[(size_t) t * N + n] = acc;                                                            \
    }                                                                                           \
}

// Register-blocked GEMM for many rows (prefill chunks): a TS x TS work-group covers a
// (RB*TS) x (RB*TS) block of outputs and each item accumulates RB x RB of them in registers, so
// every value staged in local memory feeds RB multiply-adds instead of one. Items own rows
// lt + TS*i and columns ln + TS*j, which keeps global stores of neighbouring items contiguous.
#define RB 4
#define DEFINE_GEMM_RB(WT)                                                                       \
__kernel __attribute__((reqd_work_group_size(TS, TS, 1)))                                       \
void gemm_rb_##WT(__global const float* x, __global const uchar* w, __global float* y,          \
                  int T, int N, int K) {                                                        \
    __local float xs[RB * TS][TK + 1];                                                          \
    __local float ws[RB * TS][TK + 1];                                                          \
    int ln = get_local_id(0);                                                                   \
    int lt = get_local_id(1);                                                                   \
    int li = lt * TS + ln;                                                                      \
    int n0 = get_group_id(0) * RB * TS;                                                         \
    int t0 = get_group_id(1) * RB * TS;                                                         \
    float acc[RB][RB];                                                                          \
    for (int i = 0; i < RB; i++) {                                                              \
        for (int j = 0; j < RB; j++) {                                                          \
            acc[i][j] = 0.0f;                                                                   \
        }                                                                                       \
    }                                                                                           \
    for (int k0 = 0; k0 < K; k0 += TK) {                                                        \
        for (int idx = li; idx < RB * TS * TK; idx += TS * TS) {                                \
            int r = idx / TK;                                                                   \
            int kk = idx % TK;                                                                  \
            int k = k0 + kk;                                                                    \
            xs[r][kk] = (t0 + r < T && k < K) ? x[(size_t) (t0 + r) * K + k] : 0.0f;            \
            ws[r][kk] = (n0 + r < N && k < K) ? load_##WT(w, (size_t) (n0 + r) * K + k) : 0.0f; \
        }                                                                                       \
        barrier(CLK_LOCAL_MEM_FENCE);                                                           \
        for (int kk = 0; kk < TK; kk++) {                                                       \
            float a[RB];                                                                        \
            float b[RB];                                                                        \
            for (int i = 0; i < RB; i++) {                                                      \
                a[i] = xs[lt + TS * i][kk];                                                     \
                b[i] = ws[ln + TS * i][kk];                                                     \
            }                                                                                   \
            for (int i = 0; i < RB; i++) {                                                      \
                for (int j = 0; j < RB; j++) {                                                  \
                    acc[i][j] = fma(a[i], b[j], acc[i][j]);                                     \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
        barrier(CLK_LOCAL_MEM_FENCE);                                                           \
    }                                                                                           \
    for (int i = 0; i < RB; i++) {                                                              \
        int t = t0 + lt + TS * i;                                                               \
        for (int j = 0; j < RB; j++) {                                                          \
            int n = n0 + ln + TS * j;                                                           \
            if (t < T && n < N) {                                                               \
                y[(size_t) t * N + n] = acc[i][j];                                              \
            }                                                                                   \
        }                                                                                       \
    }                                                                                           \
}

// Matrix-vector product for a few rows (decode): one work-group per output feature and row,
// its items stride over K so that neighbouring items read neighbouring weights.
#define DEFINE_GEMV(WT)                                                                          \
__kernel __attribute__((reqd_work_group_size(GEMV_LWS, 1, 1)))                                  \
void gemv_##WT(__global const float* x, __global const uchar* w, __global float* y,             \
               int T, int N, int K) {                                                           \
    __local float part[GEMV_LWS];                                                               \
    int n = get_group_id(0);                                                                    \
    int t = get_global_id(1);                                                                   \
    int lid = get_local_id(0);                                                                  \
    __global const float* xr = x + (size_t) t * K;                                              \
    size_t base = (size_t) n * K;                                                               \
    float acc = 0.0f;                                                                           \
    for (int k = lid; k < K; k += GEMV_LWS) {                                                   \
        acc = fma(load_##WT(w, base + k), xr[k], acc);                                          \
    }                                                                                           \
    part[lid] = acc;                                                                            \
    float total = reduce_sum_local(part, lid, GEMV_LWS);                                        \
    if (lid == 0) {                                                                             \
        y[(size_t) t * N + n] = total;                                                          \
    }                                                                                           \
}

DEFINE_GEMM(f32)
DEFINE_GEMM(f16)
DEFINE_GEMM(bf16)
DEFINE_GEMM(q8_0)
DEFINE_GEMM(q4_0)
DEFINE_GEMM(q4_k)
DEFINE_GEMM(q6_k)

DEFINE_GEMM_RB(f32)
DEFINE_GEMM_RB(f16)
DEFINE_GEMM_RB(bf16)
DEFINE_GEMM_RB(q8_0)
DEFINE_GEMM_RB(q4_0)
DEFINE_GEMM_RB(q4_k)
DEFINE_GEMM_RB(q6_k)

DEFINE_GEMV(f32)
DEFINE_GEMV(f16)
DEFINE_GEMV(bf16)

// Quantized matrix-vector products work a whole block at a time: one scale load, then 32 values
// through vector loads, instead of decoding every element separately.
__kernel __attribute__((reqd_work_group_size(GEMV_LWS, 1, 1)))
void gemv_q8_0(__global const float* x, __global const uchar* w, __global float* y, int T, int N, int K) {
    __local float part[GEMV_LWS];
    int n = get_group_id(0);
    int t = get_global_id(1);
    int lid = get_local_id(0);
    int blocks = K / QK;
    __global const float* xr = x + (size_t) t * K;
    __global const uchar* row = w + (size_t) n * blocks * Q8_0_BYTES;
    float acc = 0.0f;
    for (int b = lid; b < blocks; b += GEMV_LWS) {
        __global const uchar* block = row + (size_t) b * Q8_0_BYTES;
        float d = vload_half(0, (__global const half*) block);
        __global const char* q = (__global const char*) (block + 2);
        float16 lo = convert_float16(vload16(0, q)) * vload16(0, xr + b * QK);
        float16 hi = convert_float16(vload16(1, q)) * vload16(1, xr + b * QK);
        acc = fma(d, hsum16(lo + hi), acc);
    }
    part[lid] = acc;
    float total = reduce_sum_local(part, lid, GEMV_LWS);
    if (lid == 0) {
        y[(size_t) t * N + n] = total;
    }
}

__kernel __attribute__((reqd_work_group_size(GEMV_LWS, 1, 1)))
void gemv_q4_0(__global const float* x, __global const uchar* w, __global float* y, int T, int N, int K) {
    __local float part[GEMV_LWS];
    int n = get_group_id(0);
    int t = get_global_id(1);
    int lid = get_local_id(0);
    int blocks = K / QK;
    __global const float* xr = x + (size_t) t * K;
    __global const uchar* row = w + (size_t) n * blocks * Q4_0_BYTES;
    float acc = 0.0f;
    for (int b = lid; b < blocks; b += GEMV_LWS) {
        __global const uchar* block = row + (size_t) b * Q4_0_BYTES;
        float d = vload_half(0, (__global const half*) block);
        uchar16 packed = vload16(0, block + 2);
        float16 lo = (convert_float16(packed & (uchar) 15) - 8.0f) * vload16(0, xr + b * QK);
        float16 hi = (convert_float16(packed >> (uchar) 4) - 8.0f) * vload16(1, xr + b * QK);
        acc = fma(d, hsum16(lo + hi), acc);
    }
    part[lid] = acc;
    float total = reduce_sum_local(part, lid, GEMV_LWS);
    if (lid == 0) {
        y[(size_t) t * N + n] = total;
    }
}

// K-quant matrix-vector products: each item takes whole runs of 32 values that share their scales
// (a Q4_K sub-block; a quarter of a Q6_K half-block, two scales), decoding them with vector loads.
__kernel __attribute__((reqd_work_group_size(GEMV_LWS, 1, 1)))
void gemv_q4_k(__global const float* x, __global const uchar* w, __global float* y, int T, int N, int K) {
    __local float part[GEMV_LWS];
    int n = get_group_id(0);
    int t = get_global_id(1);
    int lid = get_local_id(0);
    int runs = K / 32;
    __global const float* xr = x + (size_t) t * K;
    __global const uchar* row = w + (size_t) n * (K / QK_K) * Q4_K_BYTES;
    float acc = 0.0f;
    for (int r = lid; r < runs; r += GEMV_LWS) {
        __global const uchar* block = row + (size_t) (r / 8) * Q4_K_BYTES;
        int sub = r % 8;
        float2 sm = q4_k_scale_min(block + 4, sub);
        float dl = vload_half(0, (__global const half*) block) * sm.x;
        float ml = vload_half(1, (__global const half*) block) * sm.y;
        __global const uchar* qs = block + 16 + 32 * (sub / 2);
        uchar16 b0 = vload16(0, qs);
        uchar16 b1 = vload16(1, qs);
        uchar shift = (uchar) (4 * (sub & 1));
        float16 q0 = convert_float16((b0 >> shift) & (uchar) 15);
        float16 q1 = convert_float16((b1 >> shift) & (uchar) 15);
        float16 x0 = vload16(0, xr + r * 32);
        float16 x1 = vload16(1, xr + r * 32);
        acc = fma(dl, hsum16(q0 * x0 + q1 * x1), acc);
        acc = fma(-ml, hsum16(x0 + x1), acc);
    }
    part[lid] = acc;
    float total = reduce_sum_local(part, lid, GEMV_LWS);
    if (lid == 0) {
        y[(size_t) t * N + n] = total;
    }
}

__kernel __attribute__((reqd_work_group_size(GEMV_LWS, 1, 1)))
void gemv_q6_k(__global const float* x, __global const uchar* w, __global float* y, int T, int N, int K) {
    __local float part[GEMV_LWS];
    int n = get_group_id(0);
    int t = get_global_id(1);
    int lid = get_local_id(0);
    int runs = K / 32;
    __global const float* xr = x + (size_t) t * K;
    __global const uchar* row = w + (size_t) n * (K / QK_K) * Q6_K_BYTES;
    float acc = 0.0f;
    for (int r = lid; r < runs; r += GEMV_LWS) {
        __global const uchar* block = row + (size_t) (r / 8) * Q6_K_BYTES;
        int g = r % 8;
        int h = g / 4;
        int s = g % 4;
        __global const uchar* ql = block + 64 * h + 32 * (s & 1);
        __global const uchar* qh = block + 128 + 32 * h;
        uchar lowShift = (uchar) (4 * (s / 2));
        uchar highShift = (uchar) (2 * s);
        int16 q0 = convert_int16(((vload16(0, ql) >> lowShift) & (uchar) 15) | (((vload16(0, qh) >> highShift) & (uchar) 3) << (uchar) 4)) - 32;
        int16 q1 = convert_int16(((vload16(1, ql) >> lowShift) & (uchar) 15) | (((vload16(1, qh) >> highShift) & (uchar) 3) << (uchar) 4)) - 32;
        __global const char* scales = (__global const char*) (block + 192 + 8 * h + 2 * s);
        float d = vload_half(0, (__global const half*) (block + 208));
        float16 x0 = vload16(0, xr + r * 32);
        float16 x1 = vload16(1, xr + r * 32);
        acc = fma(d * (float) scales[0], hsum16(convert_float16(q0) * x0), acc);
        acc = fma(d * (float) scales[1], hsum16(convert_float16(q1) * x1), acc);
    }
    part[lid] = acc;
    float total = reduce_sum_local(part, lid, GEMV_LWS);
    if (lid == 0) {
        y[(size_t) t * N + n] = total;
    }
}
