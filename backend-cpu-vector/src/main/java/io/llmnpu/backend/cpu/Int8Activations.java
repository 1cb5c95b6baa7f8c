package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;

import io.llmnpu.api.tensor.DType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * A decode token row rounded to int8 for the integer decode kernels: Q4_K and Q6_K
 * ({@link InterleavedKQuants}), and the 4-bit nibbles of Q4_0, Q4_1, Q5_0 and Q5_1
 * ({@link InterleavedSmallBlocks#nibbles}). Each 32-value block becomes int8 values with one float
 * scale (the block's largest magnitude over 127), much as llama.cpp rounds activations for its
 * quantized dot products (one scale per 32 values for the 32-value block types, per 256 for k-quants;
 * here one per 32 for all, one k-quant sub-block, which costs one multiply per sub-block and rounds more
 * finely).
 *
 * <p>Why. The float kernels spent three instructions per 16 weights (mask, convert, FMA) and were bound by
 * them, not by memory. In 16-bit lanes a weight word (one int lane per row) holds two halves per row; a
 * 4- or 6-bit field of both halves is isolated with one mask or shift and multiplied by a pair of int8
 * activations in one 16-bit multiply, 32 lanes at a time, and products are summed exactly in 16 bits.
 *
 * <p>Layout of {@code pairs}: each int holds two signed 16-bit activations, the one that meets a row's
 * low 16-bit lane in its low half. A k-quant word holds columns c..c+3 of a row as bytes, so its low
 * lane holds c and c + 1, its high lane c + 2 and c + 3: for c = 4j, {@code pairs[2j]} holds columns
 * (c, c + 2) and {@code pairs[2j + 1]} (c + 1, c + 3) ({@link #quadPairs}). A 32-value block type's octet
 * holds columns c..c+7 as nibbles, low lane c..c+3, high lane c+4..c+7: for c = 8j, {@code pairs[4j + i]}
 * holds (c + i, c + 4 + i), i = 0..3. Q6_K appends one pair per 16-value sub-block (at {@code k / 2 + s}):
 * 32 times the sum of the sub-block's activations that meet each 16-bit lane, wrapped to 16 bits, which
 * the kernel subtracts to turn its unsigned 6-bit products into the signed ones.
 */
final class Int8Activations {

    /** Values per block of one activation scale: a Q4_K sub-block, two Q6_K sub-blocks, a Q4_0 block. */
    static final int BLOCK = 32;
    /** The largest int8 magnitude used (symmetric, so a 16-bit lane holds 16 products of a 4-bit weight). */
    static final int LEVELS = 127;
    private static final int Q6_OFFSET = 32;
    private static final int Q6_SUB_BLOCK = 16;

    private Int8Activations() {
    }

    /** Whether {@code dtype}'s words hold four columns as bytes (k-quants) rather than eight as nibbles. */
    private static boolean quadPairs(DType dtype) {
        return dtype == DType.Q4_K || dtype == DType.Q6_K;
    }

    /** Ints {@link #quantize} fills for a row of k values. */
    static int pairsLength(DType dtype, int k) {
        return k / 2 + (dtype == DType.Q6_K ? k / Q6_SUB_BLOCK : 0);
    }

    /**
     * Rounds token row {@code x} (k values, a multiple of 32) for a kernel over {@code dtype}: {@code pairs}
     * as in the class comment, {@code scales[b]} block b's scale, and for Q4_K {@code sums[b]} block b's
     * rounded sum (what the mins of sub-block b multiply; null for the other types). {@code levels} (k
     * ints) is scratch. Runs once per product (and token row), so it is vectorized: as scalar code it took a
     * tenth of decode.
     */
    static void quantize(DType dtype, float[] x, int k, int[] levels, int[] pairs, float[] scales, float[] sums) {
        for (int b = 0; b < k / BLOCK; b++) {
            FloatVector max = FloatVector.zero(FLOATS);
            for (int c = b * BLOCK; c < (b + 1) * BLOCK; c += FLOATS.length()) {
                max = max.max(FloatVector.fromArray(FLOATS, x, c).abs());
            }
            float largest = max.reduceLanes(VectorOperators.MAX);
            float d = largest / LEVELS;
            // A NaN or infinite activation gives a NaN scale, so the outputs become NaN as in float.
            float inverse = d == 0 || !Float.isFinite(d) ? 0 : 1 / d;
            scales[b] = Float.isFinite(largest) ? d : Float.NaN;
            for (int c = b * BLOCK; c < (b + 1) * BLOCK; c += FLOATS.length()) {
                // Adding 1.5 * 2^23 rounds to the nearest integer (ties to even), which the low mantissa
                // bits then hold: |value| <= 127 after scaling.
                FloatVector scaled = FloatVector.fromArray(FLOATS, x, c).mul(inverse)
                        .max(-LEVELS).min(LEVELS).add(ROUNDING);
                ((IntVector) scaled.reinterpretAsInts()).sub(ROUNDING_BITS).intoArray(levels, c);
            }
        }
        if (quadPairs(dtype)) {
            for (int c = 0; c < k; c += 4) {
                pairs[c / 2] = pair(levels[c], levels[c + 2]);
                pairs[c / 2 + 1] = pair(levels[c + 1], levels[c + 3]);
            }
        } else {
            for (int c = 0; c < k; c += 8) {
                for (int i = 0; i < 4; i++) {
                    pairs[c / 2 + i] = pair(levels[c + i], levels[c + 4 + i]);
                }
            }
        }
        if (dtype == DType.Q4_K) {
            for (int b = 0; b < k / BLOCK; b++) {
                int sum = 0;
                for (int c = BLOCK * b; c < BLOCK * b + BLOCK; c++) {
                    sum += levels[c];
                }
                sums[b] = sum * scales[b];
            }
        } else if (dtype == DType.Q6_K) {
            for (int s = 0; s < k / Q6_SUB_BLOCK; s++) {
                int low = 0;
                int high = 0;
                for (int c = Q6_SUB_BLOCK * s; c < Q6_SUB_BLOCK * s + Q6_SUB_BLOCK; c += 4) {
                    low += levels[c] + levels[c + 1];
                    high += levels[c + 2] + levels[c + 3];
                }
                pairs[k / 2 + s] = pair(Q6_OFFSET * low, Q6_OFFSET * high);
            }
        }
    }

    private static final float ROUNDING = 0x1.8p23f;
    private static final int ROUNDING_BITS = Float.floatToRawIntBits(ROUNDING);

    /** Two values as the low and high 16-bit lanes of an int (each wrapped to 16 bits). */
    private static int pair(int low, int high) {
        return (low & 0xFFFF) | (high << 16);
    }
}
