package io.llmnpu.backend.cpu.onednn;

import java.lang.foreign.MemorySegment;

/**
 * What every product of one backend shares: the library, its CPU engine, the OpenMP thread count of
 * the backend, and the store of packed weights.
 */
record OneDnnContext(OneDnn dnn, MemorySegment engine, int threads, WeightStore weights) {

    /** A matmul dst[m, n] = src[m, k] · weights[k, n] with int8 operands and INT32 sums. */
    OneDnnMatmul int8Matmul(int m, int k, int n) {
        return new OneDnnMatmul(dnn, engine, threads, m, k, n, OneDnn.S8, OneDnn.S8, OneDnn.S32);
    }
}
