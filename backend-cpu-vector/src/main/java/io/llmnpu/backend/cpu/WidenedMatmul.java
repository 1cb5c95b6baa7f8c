package io.llmnpu.backend.cpu;

import java.lang.foreign.MemorySegment;

/**
 * Linear over block-quantized weights for a few token rows (decode), for the types without a fused
 * kernel (Q4_1, Q5_0, Q5_1, IQ4_NL and the k-quants): each weight row is widened to F32 by its type's
 * {@link WeightRows} into a row-sized float[] (which stays in L1) and dotted against every token row
 * with the F32 kernel. The widening is the prefill GEMM's, so prefill and decode read a row alike.
 */
final class WidenedMatmul implements MatmulRows {

    private final WeightRows rows;

    WidenedMatmul(WeightRows rows) {
        this.rows = rows;
    }

    @Override
    public void compute(MemorySegment w, MemorySegment x, MemorySegment out, int tokens, int k, int n,
                        int from, int to) {
        float[] row = new float[k];
        for (int r = from; r < to; r++) {
            rows.widen(w, r, k, row, 0);
            FloatRowDots.dotTokens(row, x, out, tokens, k, n, r);
        }
    }
}
