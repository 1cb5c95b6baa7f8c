package io.llmnpu.backend.cpu;

import java.lang.foreign.MemorySegment;

/** Linear over F32 weights, read straight from the weight tensor's memory. */
final class F32Matmul implements MatmulRows {

    @Override
    public void compute(MemorySegment w, MemorySegment x, MemorySegment out, int tokens, int k, int n,
                        int from, int to) {
        long rowBytes = (long) k * Float.BYTES;
        for (int r = from; r < to; r++) {
            FloatRowDots.dotTokens(w, r * rowBytes, x, out, tokens, k, n, r);
        }
    }
}
