package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;

import io.llmnpu.api.tensor.DType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * A decode token row quantized for the integer Q4_K and Q6_K kernels of {@link InterleavedKQuants}: each
 * 32-value block becomes int8 values with one float scale (the block's largest magnitude over 127), much
 * as llama.cpp quantizes activations for its k-quant dot products (it takes 256-value blocks; a scale per
 * 32 values, one k-quant sub-block, costs one multiply per sub-block and rounds more finely).
 *
 * <p>Why. The float kernels spent three instructions per 16 weights (mask, convert, FMA) and were bound by
 * them, not by memory. In 16-bit lanes a weight word (one int lane per row) holds two halves per row; a
 * 4- or 6-bit field of both halves is isolated with one mask or shift and multiplied by a pair of int8
 * activations in one 16-bit multiply, 32 lanes at a time, and products are summed exactly in 16 bits.
 *
 * <p>Layout of {@code pairs}: for columns c = 4j, {@code pairs[2j]} holds the activations of columns c
 * (low half) and c + 2 (high half), {@code pairs[2j + 1]} those of c + 1 and c + 3, each a signed 16-bit
 * value: the low 16-bit lane of an int word holds the row's bytes of columns c and c + 1, the high lane
 * those of c + 2 and c + 3, so a field taken from the low byte of each lane meets {@code pairs[2j]} and
 * one from the high byte meets {@code pairs[2j + 1]}. Q6_K appends one pair per 16-value sub-block (at
 * {@code k / 2 + s}): 32 times the sum of the sub-block's activations that meet each 16-bit lane, wrapped
 * to 16 bits, which the kernel subtracts to turn its unsigned 6-bit products into the signed ones.
 */
final class KQuantActivations {

    /** Values per block of one activation scale: a Q4_K sub-block, two Q6_K sub-blocks. */
    static final int BLOCK = 32;
    /** The largest int8 magnitude used (symmetric, so a 16-bit lane holds 16 products of a 4-bit weight). */
    static final int LEVELS = 127;
    private static final int Q6_OFFSET = 32;
    private static final int Q6_SUB_BLOCK = 16;

    private KQuantActivations() {
    }

    static boolean isInteger(DType dtype) {
        return dtype == DType.Q4_K || dtype == DType.Q6_K;
    }

    /** Ints {@link #quantize} fills for a row of k values. */
    static int pairsLength(DType dtype, int k) {
        return k / 2 + (dtype == DType.Q6_K ? k / Q6_SUB_BLOCK : 0);
    }

    /**
     * Quantizes token row {@code x} (k values, a multiple of 256): {@code pairs} as in the class comment,
     * {@code scales[b]} block b's scale, and for Q4_K {@code sums[b]} block b's dequantized sum (what the
     * mins of sub-block b multiply). {@code levels} (k ints) is scratch. Runs once per thread and
     * product, so it is vectorized: as scalar code it took a tenth of decode.
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
        for (int c = 0; c < k; c += 4) {
            pairs[c / 2] = pair(levels[c], levels[c + 2]);
            pairs[c / 2 + 1] = pair(levels[c + 1], levels[c + 3]);
        }
        if (dtype == DType.Q4_K) {
            for (int b = 0; b < k / BLOCK; b++) {
                int sum = 0;
                for (int c = BLOCK * b; c < BLOCK * b + BLOCK; c++) {
                    sum += levels[c];
                }
                sums[b] = sum * scales[b];
            }
        } else {
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
