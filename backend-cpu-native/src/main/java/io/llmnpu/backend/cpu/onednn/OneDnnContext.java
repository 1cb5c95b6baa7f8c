package io.llmnpu.backend.cpu.onednn;

import java.lang.foreign.MemorySegment;

/**
 * What every product of one backend shares: the library, its CPU engine, the OpenMP thread count of
 * the backend, and the store of packed weights.
 */
record OneDnnContext(OneDnn dnn, MemorySegment engine, int threads, WeightStore weights) {

    /**
     * A matmul dst[m, n] = src[m, k] · weights[k, n] with unsigned 8-bit sources, signed 8-bit weights
     * and INT32 sums: the operand types of the CPU's dot-product instruction (VNNI's {@code vpdpbusd}).
     * Signed codes go in shifted by 128 ({@link Int8Codes#encodeShifted}), and each sum then exceeds the
     * signed one by exactly 128 times its weight row's sum of codes, which the products subtract.
     * (With signed sources oneDNN would apply that correction itself, but it then packs weights with a
     * reference reorder about ten times slower than its JIT one.)
     */
    OneDnnMatmul int8Matmul(int m, int k, int n) {
        return new OneDnnMatmul(dnn, engine, threads, m, k, n, OneDnn.U8, OneDnn.S8, OneDnn.S32);
    }
}
