package io.llmnpu.backend.cpu;

import java.lang.foreign.MemorySegment;

/**
 * Computes output features [from, to) of a Linear op for every token row: out[t, r] = w[r] · x[t]
 * where w is [n, k] in the implementation's weight dtype, x is [tokens, k] F32 and out is [tokens, n]
 * F32.
 */
interface MatmulRows {

    /**
     * Work on the token rows that every chunk of one product shares, done once on the thread that starts
     * the product, before {@link #compute} runs on any thread (which then only reads what it left).
     */
    default void prepare(MemorySegment x, int tokens, int k) {
    }

    void compute(MemorySegment w, MemorySegment x, MemorySegment out, int tokens, int k, int n, int from, int to);
}
