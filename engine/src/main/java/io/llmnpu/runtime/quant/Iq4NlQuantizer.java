package io.llmnpu.runtime.quant;

import io.llmnpu.api.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Quantizes float values to IQ4_NL (blocks of 32 values, each an index into a fixed non-linear table of
 * 16 levels, times one F16 scale), with the search of ggml's quantizer: the scale that puts the block's
 * largest magnitude on the table's outermost level, then 15 nearby scales {@code (i - 127) / max},
 * i = -7..7, each scored by the weighted correlation of levels and values (weights {@code x^2}); the
 * best scale's least-squares value is stored and the values re-mapped to their nearest levels with it.
 */
public final class Iq4NlQuantizer {
    private static final int BLOCK = 32;
    private static final int TRIES = 7;
    private static final float GROUP_MAX_EPS = 1e-15f;
    private static final ValueLayout.OfShort F16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Iq4NlQuantizer() {
    }

    /** Writes IQ4_NL blocks of {@code x[from, from + count)} to {@code out} starting at byte 0. */
    public static void quantize(float[] x, int from, int count, MemorySegment out) {
        if (count % BLOCK != 0) {
            throw new IllegalArgumentException(count + " values are not a whole number of 32-value IQ4_NL blocks");
        }
        int[] levels = new int[BLOCK];
        for (int b = 0; b < count / BLOCK; b++) {
            int base = from + b * BLOCK;
            long at = (long) b * DType.IQ4_NL.blockBytes();
            float d = blockScale(x, base);
            out.set(F16_LE, at, Float.floatToFloat16(d));
            float id = d != 0 ? 1 / d : 0;
            for (int j = 0; j < BLOCK; j++) {
                levels[j] = nearestLevel(id * x[base + j]);
            }
            for (int j = 0; j < BLOCK / 2; j++) {
                out.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) (levels[j] | levels[j + BLOCK / 2] << 4));
            }
        }
    }

    private static float blockScale(float[] x, int base) {
        float amax = 0;
        float max = 0;
        for (int j = 0; j < BLOCK; j++) {
            float ax = Math.abs(x[base + j]);
            if (ax > amax) {
                amax = ax;
                max = x[base + j];
            }
        }
        if (amax < GROUP_MAX_EPS) {
            return 0;
        }
        int outermost = DType.iq4nlLevel(0);
        float d = -max / outermost;
        float[] fit = correlation(x, base, 1 / d);
        d = fit[0] / fit[1];
        float best = d * fit[0];
        for (int i = -TRIES; i <= TRIES; i++) {
            fit = correlation(x, base, (i + outermost) / max);
            if (fit[1] > 0 && fit[0] * fit[0] > best * fit[1]) {
                d = fit[0] / fit[1];
                best = d * fit[0];
            }
        }
        return d;
    }

    /** {sum(w q x), sum(w q^2)} with q the level nearest to {@code id * x}, w = x^2. */
    private static float[] correlation(float[] x, int base, float id) {
        float sumQX = 0;
        float sumQ2 = 0;
        for (int j = 0; j < BLOCK; j++) {
            float xj = x[base + j];
            float q = DType.iq4nlLevel(nearestLevel(id * xj));
            float w = xj * xj;
            sumQX += w * q * xj;
            sumQ2 += w * q * q;
        }
        return new float[] {sumQX, sumQ2};
    }

    /** Index of the table level nearest to {@code v} (the upper one on a tie), by bisection as ggml does. */
    static int nearestLevel(float v) {
        if (v <= DType.iq4nlLevel(0)) {
            return 0;
        }
        if (v >= DType.iq4nlLevel(15)) {
            return 15;
        }
        int lo = 0;
        int hi = 15;
        while (hi - lo > 1) {
            int mid = (lo + hi) / 2;
            if (v < DType.iq4nlLevel(mid)) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        return v - DType.iq4nlLevel(hi - 1) < DType.iq4nlLevel(hi) - v ? hi - 1 : hi;
    }
}
