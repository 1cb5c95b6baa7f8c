package io.llmnpu.tck;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.graph.RopeStyle;
import java.util.BitSet;
import org.junit.jupiter.api.Test;

/** The reference ops on inputs small enough to work out by hand. */
class ReferenceOpsTest {
    private static final double EXACT = 1e-12;

    @Test
    void rmsNormDividesByTheRootMeanSquarePlusEps() {
        double[] out = ReferenceOps.rmsNorm(new double[] {3, 4, 0, 2}, 2, 2, new double[] {1, 10}, 0.5);
        double rms0 = Math.sqrt((9 + 16) / 2.0 + 0.5);
        double rms1 = Math.sqrt((0 + 4) / 2.0 + 0.5);
        assertArrayEquals(new double[] {3 / rms0, 40 / rms0, 0, 20 / rms1}, out, EXACT);
    }

    @Test
    void linearTakesRowsOfTheWeightAsOutputs() {
        double[] w = {1, 2, 3, -1, 0, 1}; // [2 out, 3 in]
        double[] out = ReferenceOps.linear(new double[] {1, 1, 1, 2, 0, -1}, 2, 3, w, 2);
        assertArrayEquals(new double[] {6, 0, -1, -3}, out, EXACT);
    }

    @Test
    void linearTermNormsAreTheLargestRootSumOfSquaredProductsPerRow() {
        double[] w = {3, 4, 1, 0}; // [2 out, 2 in]
        double[] norms = ReferenceOps.linearTermNorms(new double[] {1, -1, 0, 2}, 2, 2, w, 2);
        assertArrayEquals(new double[] {5, 8}, norms, EXACT);
    }

    @Test
    void adjacentRopeTurnsPairsTwoIAndTwoIPlusOne() {
        // head 4, all rotary: pair 0 turns by pos * 1, pair 1 by pos * theta^(-2/4) = pos * 0.01
        double[] out = ReferenceOps.rope(new double[] {1, 0, 1, 0}, 1, 4, new int[] {1}, 4, 4, 10_000, RopeStyle.ADJACENT);
        assertArrayEquals(new double[] {Math.cos(1), Math.sin(1), Math.cos(0.01), Math.sin(0.01)}, out, EXACT);
    }

    @Test
    void neoxRopeTurnsIWithIPlusHalf() {
        double[] out = ReferenceOps.rope(new double[] {1, 1, 0, 0}, 1, 4, new int[] {2}, 4, 4, 10_000, RopeStyle.NEOX);
        assertArrayEquals(new double[] {Math.cos(2), Math.cos(0.02), Math.sin(2), Math.sin(0.02)}, out, EXACT);
    }

    @Test
    void ropeLeavesNonRotaryDimsPaddingRowsAndPositionZeroAlone() {
        // two heads of 4 with 2 rotary dims: dims 2 and 3 of each head pass through
        double[] x = {1, 0, 5, 6, 0, 1, 7, 8, 1, 2, 3, 4, 9, 9, 9, 9, 1, 2, 3, 4, 5, 6, 7, 8};
        double[] out = ReferenceOps.rope(x, 3, 8, new int[] {1, -1, 0}, 4, 2, 10_000, RopeStyle.NEOX);
        assertArrayEquals(new double[] {Math.cos(1), Math.sin(1), 5, 6, -Math.sin(1), Math.cos(1), 7, 8}, slice(out, 0, 8), EXACT);
        assertArrayEquals(slice(x, 8, 24), slice(out, 8, 24), 0.0);
    }

    @Test
    void attentionScalesScoresByRootHeadDimAndReadsItsKvHead() {
        // head dim 4: q . k = 2, scaled by 1/sqrt(4) gives scores 0 (row 0) and 1 (row 1)
        int headDim = 4;
        double[] kCache = new double[2 * headDim];
        double[] vCache = new double[2 * headDim];
        vCache[0] = 1; // v row 0 = e0
        double[] out = ReferenceOps.attention(new double[] {2, 0, 0, 0}, new double[] {1, 0, 0, 0},
                new double[] {0, 1, 0, 0}, new int[] {1}, kCache, vCache, 2, 1, 1, headDim, new BitSet());
        double e = Math.E;
        assertArrayEquals(new double[] {1 / (1 + e), e / (1 + e), 0, 0}, out, EXACT);
        assertArrayEquals(new double[] {0, 0, 0, 0, 1, 0, 0, 0}, kCache, 0.0);
    }

    @Test
    void groupedHeadsShareKvHeadHOverGroupSize() {
        // 4 query heads over 2 KV heads of dim 1: at position 0 each head returns its KV head's v
        BitSet written = new BitSet();
        double[] vCache = new double[4];
        double[] out = ReferenceOps.attention(new double[] {1, 1, 1, 1}, new double[] {1, 1}, new double[] {10, 20},
                new int[] {0}, new double[4], vCache, 2, 4, 2, 1, written);
        assertArrayEquals(new double[] {10, 10, 20, 20}, out, EXACT);
        assertEquals(1, written.cardinality());
        assertTrue(written.get(0));
    }

    @Test
    void paddingRowsWriteNothingAndOutputZeros() {
        BitSet written = new BitSet();
        double[] kCache = {7, 7};
        double[] vCache = {8, 8};
        double[] out = ReferenceOps.attention(new double[] {1}, new double[] {1}, new double[] {1}, new int[] {-1},
                kCache, vCache, 2, 1, 1, 1, written);
        assertArrayEquals(new double[] {0}, out, 0.0);
        assertArrayEquals(new double[] {7, 7}, kCache, 0.0);
        assertArrayEquals(new double[] {8, 8}, vCache, 0.0);
        assertTrue(written.isEmpty());
    }

    @Test
    void elementwiseOps() {
        assertArrayEquals(new double[] {2 / (1 + Math.exp(-1)), 0}, ReferenceOps.siluMul(new double[] {1, 0}, new double[] {2, 5}), EXACT);
        assertArrayEquals(new double[] {3, -1}, ReferenceOps.add(new double[] {1, 1}, new double[] {2, -2}), EXACT);
        assertArrayEquals(new double[] {3, 4}, ReferenceOps.selectRow(new double[] {1, 2, 3, 4}, 2, 2, 1), EXACT);
        assertArrayEquals(new double[] {5, 6, 1, 2}, ReferenceOps.embedding(new int[] {2, 0}, new double[] {1, 2, 3, 4, 5, 6}, 3, 2), EXACT);
    }

    private static double[] slice(double[] x, int from, int to) {
        double[] out = new double[to - from];
        System.arraycopy(x, from, out, 0, out.length);
        return out;
    }

    // x / 0.5 gives codes 2.5 -> 2 (ties to even), -1.5 -> -2, 200 -> 127 (saturated), -0.48 -> 0
    private static final double[] QUANT_X = {1.25, -0.75, 100, -0.24};
    private static final byte[] QUANT_W = {1, 2, 3, 4, -127, 127, 0, 5}; // [2 out, 4 in]

    @Test
    void quantizedLinearRoundsTiesToEvenSaturatesAndDequantizesPerRow() {
        double[] out = ReferenceOps.quantizedLinear(QUANT_X, 1, 4, QUANT_W, new double[] {0.25, 2}, 2, 0.5f, 0f);
        // acc0 = 2 - 4 + 381 = 379, acc1 = -254 - 254 = -508
        assertArrayEquals(new double[] {379 * 0.5 * 0.25, -508 * 0.5 * 2}, out, EXACT);
    }

    @Test
    void quantizedLinearRequantizesToInt16WithTiesAwayFromZeroAndSaturates() {
        double[] out = ReferenceOps.quantizedLinear(QUANT_X, 1, 4, QUANT_W, new double[] {0.25, 2}, 2, 0.5f, 0.25f);
        // 47.375 / 0.25 = 189.5 -> 190; -508 / 0.25 = -2032
        assertArrayEquals(new double[] {190 * 0.25, -2032 * 0.25}, out, EXACT);
        double[] saturated = ReferenceOps.quantizedLinear(QUANT_X, 1, 4, QUANT_W, new double[] {0.25, 2}, 2, 0.5f,
                0.001f);
        assertEquals(-32767 * (double) 0.001f, saturated[1], EXACT);
    }

    @Test
    void activationCodesComeFromTheF32Quotient() {
        // 0.35f / 0.1f is 3.4999998 in double but exactly 3.5 as an F32 quotient: rint makes it 4
        float x = 0.35f;
        float scale = 0.1f;
        assertEquals(x / scale, 3.5f);
        assertArrayEquals(new int[] {4}, ReferenceOps.quantizeActivations(new double[] {x}, scale));
    }

    @Test
    void outlierShadowMultipliesOnlyWhatTheClipLoses() {
        double[] w = {1, 1, 1, 0, 2, -2}; // [2 out, 3 in]
        // threshold 1: residuals 0 (0.5 within), 2 (3 - 1), -1.5 (-2.5 + 1); exactly 1 is within
        double[] out = ReferenceOps.outlierShadow(new double[] {0.5, 3, -2.5, 1, -1, 0}, 2, 3, 1, w, 2);
        assertArrayEquals(new double[] {0.5, 7, 0, 0}, out, EXACT);
    }

    @Test
    void shadowMergeRecomputesEntriesAtTheSaturationLimit() {
        double[] w = {1, 2, 3, 4}; // [2 out, 2 in]
        double[] out = ReferenceOps.shadowMerge(new double[] {-40, 39.5}, new double[] {1, 1}, new double[] {1, -1},
                1, 2, w, 2, 40);
        assertArrayEquals(new double[] {-1, 40.5}, out, EXACT);
    }
}
