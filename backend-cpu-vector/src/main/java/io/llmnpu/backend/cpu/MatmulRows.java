package io.llmnpu.backend.cpu;

import java.lang.foreign.MemorySegment;

/**
 * Computes output features [from, to) of a Linear op for every token row: out[t, r] = w[r] · x[t]
 * where w is [n, k] in the implementation's weight dtype, x is [tokens, k] F32 and out is [tokens, n]
 * F32.
 */
@FunctionalInterface
interface MatmulRows {
    void compute(MemorySegment w, MemorySegment x, MemorySegment out, int tokens, int k, int n, int from, int to);
}
