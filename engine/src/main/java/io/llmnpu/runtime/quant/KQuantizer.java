package io.llmnpu.runtime.quant;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Dequantizer;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Quantizes float values to ggml's k-quants (super-blocks of 256 values: Q2_K, Q3_K, Q4_K, Q5_K,
 * Q6_K) with the algorithms of ggml's reference quantizers, which {@code llama-quantize} uses when it
 * is given no importance matrix. Layouts are described on {@link DType}.
 *
 * <p>Each super-block is split into sub-blocks (16 or 32 values) whose scale (and, for the
 * asymmetric types, min) is found by a small search that minimises a weighted squared (Q2_K: absolute)
 * error rather than by taking the absolute maximum:
 * <ul>
 *   <li>Q4_K, Q5_K, Q2_K ({@link #fitScaleAndMin}): value = scale * q - min. Starting from the range
 *       [min(x, 0), max(x)], a few candidate scales around {@code nmax / range} are tried; for each, the
 *       quants are rounded and the best scale and min for those quants come from weighted least
 *       squares; the candidate with the least weighted error wins. Weights are
 *       {@code rms(sub-block) + |x|} (Q2_K: {@code |x|}), so large values count more.</li>
 *   <li>Q6_K ({@link #fitSymmetricScale}): value = scale * q. Candidates {@code -(nmax + 0.1 i) / max},
 *       i = -9..9, each with the least-squares scale for its rounded quants, weighted by {@code x^2}.</li>
 *   <li>Q3_K ({@link #fitQ3Scale}): the quants are improved one at a time (up to five passes) while
 *       that raises the weighted correlation of quants and values.</li>
 * </ul>
 * The sub-block scales (and mins) are then quantized to 4, 6 or 8 bits against one F16 super-block
 * scale, and the values re-quantized with the scales as stored, so that rounding of the scales is
 * accounted for.
 */
public final class KQuantizer {
    /** Values per super-block. */
    public static final int QK = 256;
    private static final ValueLayout.OfShort F16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Groups whose largest magnitude is below this are stored as zeros. */
    private static final float GROUP_MAX_EPS = 1e-15f;

    private KQuantizer() {
    }

    /**
     * Writes {@code type} super-blocks of {@code x[from, from + count)} to {@code out} starting at byte 0.
     *
     * @throws IllegalArgumentException if {@code type} is not a k-quant or count is not a multiple of 256
     */
    public static void quantize(DType type, float[] x, int from, int count, MemorySegment out) {
        if (count % QK != 0) {
            throw new IllegalArgumentException(count + " values are not a whole number of " + QK + "-value " + type + " blocks");
        }
        int blockBytes = type.blockBytes();
        for (int b = 0; b < count / QK; b++) {
            MemorySegment block = out.asSlice((long) b * blockBytes, blockBytes);
            int base = from + b * QK;
            switch (type) {
                case Q2_K -> q2K(x, base, block);
                case Q3_K -> q3K(x, base, block);
                case Q4_K -> q45K(x, base, block, false);
                case Q5_K -> q45K(x, base, block, true);
                case Q6_K -> q6K(x, base, block);
                default -> throw new IllegalArgumentException(type + " is not a k-quant type");
            }
        }
    }

    // ---- Q4_K and Q5_K --------------------------------------------------------------------------------

    private static void q45K(float[] x, int base, MemorySegment y, boolean five) {
        int nmax = five ? 31 : 15;
        int[] levels = new int[QK];
        int[] scratch = new int[32];
        float[] weights = new float[32];
        float[] scales = new float[8];
        float[] mins = new float[8];
        float maxScale = 0;
        float maxMin = 0;
        for (int j = 0; j < 8; j++) {
            int o = base + 32 * j;
            float sumX2 = 0;
            for (int l = 0; l < 32; l++) {
                sumX2 += x[o + l] * x[o + l];
            }
            float avX = (float) Math.sqrt(sumX2 / 32);
            for (int l = 0; l < 32; l++) {
                weights[l] = avX + Math.abs(x[o + l]);
            }
            scales[j] = five
                    ? fitScaleAndMin(32, nmax, x, o, weights, levels, 32 * j, mins, j, scratch, -0.5f, 0.1f, 15, false)
                    : fitScaleAndMin(32, nmax, x, o, weights, levels, 32 * j, mins, j, scratch, -1f, 0.1f, 20, false);
            if (scales[j] > maxScale) { // comparisons as in ggml: NaN and -0 never win
                maxScale = scales[j];
            }
            if (mins[j] > maxMin) {
                maxMin = mins[j];
            }
        }
        float invScale = maxScale > 0 ? 63f / maxScale : 0f;
        float invMin = maxMin > 0 ? 63f / maxMin : 0f;
        byte[] packed = new byte[12];
        for (int j = 0; j < 8; j++) {
            int ls = Math.min(63, nearestInt(invScale * scales[j]) & 0xFF);
            int lm = Math.min(63, nearestInt(invMin * mins[j]) & 0xFF);
            if (j < 4) {
                packed[j] = (byte) ls;
                packed[j + 4] = (byte) lm;
            } else {
                packed[j + 4] = (byte) ((ls & 0x0F) | (lm & 0x0F) << 4);
                packed[j - 4] |= (byte) ((ls >>> 4) << 6);
                packed[j] |= (byte) ((lm >>> 4) << 6);
            }
        }
        short dBits = Float.floatToFloat16(maxScale / 63f);
        short minBits = Float.floatToFloat16(maxMin / 63f);
        y.set(F16_LE, 0, dBits);
        y.set(F16_LE, 2, minBits);
        MemorySegment.copy(packed, 0, y, ValueLayout.JAVA_BYTE, 4, 12);
        MemorySegment scaleBytes = MemorySegment.ofArray(packed);
        float d = Float.float16ToFloat(dBits);
        float dMin = Float.float16ToFloat(minBits);
        for (int j = 0; j < 8; j++) {
            float dl = d * Dequantizer.kScale(scaleBytes, 0, j);
            if (dl == 0) {
                continue;
            }
            float dm = dMin * Dequantizer.kMin(scaleBytes, 0, j);
            for (int l = 0; l < 32; l++) {
                levels[32 * j + l] = clamp(nearestInt((x[base + 32 * j + l] + dm) / dl), 0, nmax);
            }
        }
        long qs = five ? 48 : 16;
        for (int p = 0; p < 4; p++) {
            for (int l = 0; l < 32; l++) {
                int lo = levels[64 * p + l];
                int hi = levels[64 * p + 32 + l];
                y.set(ValueLayout.JAVA_BYTE, qs + 32 * p + l, (byte) ((lo & 0x0F) | (hi & 0x0F) << 4));
            }
        }
        if (five) {
            for (int l = 0; l < 32; l++) {
                int qh = 0;
                for (int i = 0; i < 8; i++) {
                    qh |= (levels[32 * i + l] >>> 4 & 1) << i;
                }
                y.set(ValueLayout.JAVA_BYTE, 16 + l, (byte) qh);
            }
        }
    }

    // ---- Q6_K -----------------------------------------------------------------------------------------

    private static void q6K(float[] x, int base, MemorySegment y) {
        int[] levels = new int[QK];
        float[] scales = new float[16];
        float maxScale = 0;
        float maxAbsScale = 0;
        for (int ib = 0; ib < 16; ib++) {
            float scale = fitSymmetricScale(16, 32, x, base + 16 * ib, levels, 16 * ib);
            scales[ib] = scale;
            if (Math.abs(scale) > maxAbsScale) {
                maxAbsScale = Math.abs(scale);
                maxScale = scale;
            }
        }
        if (maxAbsScale < GROUP_MAX_EPS) {
            y.fill((byte) 0);
            return;
        }
        float iscale = -128f / maxScale;
        short dBits = Float.floatToFloat16(1 / iscale);
        y.set(F16_LE, 208, dBits);
        byte[] sc = new byte[16];
        for (int ib = 0; ib < 16; ib++) {
            sc[ib] = (byte) Math.min(127, nearestInt(iscale * scales[ib]));
            y.set(ValueLayout.JAVA_BYTE, 192 + ib, sc[ib]);
        }
        float d = Float.float16ToFloat(dBits);
        for (int j = 0; j < 16; j++) {
            float dl = d * sc[j];
            if (dl == 0) {
                continue;
            }
            for (int ii = 0; ii < 16; ii++) {
                levels[16 * j + ii] = clamp(nearestInt(x[base + 16 * j + ii] / dl), -32, 31) + 32;
            }
        }
        for (int h = 0; h < 2; h++) {
            for (int l = 0; l < 32; l++) {
                int v = 128 * h + l;
                int q1 = levels[v];
                int q2 = levels[v + 32];
                int q3 = levels[v + 64];
                int q4 = levels[v + 96];
                y.set(ValueLayout.JAVA_BYTE, 64 * h + l, (byte) ((q1 & 0x0F) | (q3 & 0x0F) << 4));
                y.set(ValueLayout.JAVA_BYTE, 64 * h + l + 32, (byte) ((q2 & 0x0F) | (q4 & 0x0F) << 4));
                y.set(ValueLayout.JAVA_BYTE, 128 + 32 * h + l,
                        (byte) ((q1 >>> 4 & 3) | (q2 >>> 4 & 3) << 2 | (q3 >>> 4 & 3) << 4 | (q4 >>> 4 & 3) << 6));
            }
        }
    }

    // ---- Q3_K -----------------------------------------------------------------------------------------

    private static void q3K(float[] x, int base, MemorySegment y) {
        int[] levels = new int[QK];
        float[] scales = new float[16];
        float maxScale = 0;
        float amax = 0;
        for (int j = 0; j < 16; j++) {
            scales[j] = fitQ3Scale(16, 4, x, base + 16 * j, levels, 16 * j);
            float scale = Math.abs(scales[j]);
            if (scale > amax) {
                amax = scale;
                maxScale = scales[j];
            }
        }
        byte[] packed = new byte[12];
        if (maxScale != 0) {
            float iscale = -32f / maxScale;
            for (int j = 0; j < 16; j++) {
                int l = clamp((byte) nearestInt(iscale * scales[j]), -32, 31) + 32;
                if (j < 8) {
                    packed[j] = (byte) (l & 0x0F);
                } else {
                    packed[j - 8] |= (byte) ((l & 0x0F) << 4);
                }
                packed[j % 4 + 8] |= (byte) ((l >>> 4) << (2 * (j / 4)));
            }
            y.set(F16_LE, 108, Float.floatToFloat16(1 / iscale));
        } else {
            y.set(F16_LE, 108, Float.floatToFloat16(0f));
        }
        MemorySegment.copy(packed, 0, y, ValueLayout.JAVA_BYTE, 96, 12);
        MemorySegment scaleBytes = MemorySegment.ofArray(packed);
        float d = Float.float16ToFloat(y.get(F16_LE, 108));
        for (int j = 0; j < 16; j++) {
            float dl = d * (Dequantizer.q3KScale(scaleBytes, 0, j) - 32);
            if (dl == 0) {
                continue;
            }
            for (int ii = 0; ii < 16; ii++) {
                levels[16 * j + ii] = clamp(nearestInt(x[base + 16 * j + ii] / dl), -4, 3) + 4;
            }
        }
        for (int l = 0; l < 32; l++) { // bit v / 32 of byte v % 32: the high bit of value v
            int mask = 0;
            for (int bit = 0; bit < 8; bit++) {
                if (levels[32 * bit + l] > 3) {
                    mask |= 1 << bit;
                }
            }
            y.set(ValueLayout.JAVA_BYTE, l, (byte) mask);
        }
        packTwoBits(levels, y, 32);
    }

    // ---- Q2_K -----------------------------------------------------------------------------------------

    private static void q2K(float[] x, int base, MemorySegment y) {
        int[] levels = new int[QK];
        int[] scratch = new int[16];
        float[] weights = new float[16];
        float[] scales = new float[16];
        float[] mins = new float[16];
        float maxScale = 0;
        float maxMin = 0;
        for (int j = 0; j < 16; j++) {
            for (int l = 0; l < 16; l++) {
                weights[l] = Math.abs(x[base + 16 * j + l]);
            }
            scales[j] = fitScaleAndMin(16, 3, x, base + 16 * j, weights, levels, 16 * j, mins, j, scratch,
                    -0.5f, 0.1f, 15, true);
            if (scales[j] > maxScale) { // comparisons as in ggml: NaN and -0 never win
                maxScale = scales[j];
            }
            if (mins[j] > maxMin) {
                maxMin = mins[j];
            }
        }
        byte[] sc = new byte[16];
        float q4scale = 15f;
        if (maxScale > 0) {
            float iscale = q4scale / maxScale;
            for (int j = 0; j < 16; j++) {
                sc[j] = (byte) nearestInt(iscale * scales[j]);
            }
            y.set(F16_LE, 80, Float.floatToFloat16(maxScale / q4scale));
        } else {
            y.set(F16_LE, 80, Float.floatToFloat16(0f));
        }
        if (maxMin > 0) {
            float iscale = q4scale / maxMin;
            for (int j = 0; j < 16; j++) {
                sc[j] |= (byte) (nearestInt(iscale * mins[j]) << 4);
            }
            y.set(F16_LE, 82, Float.floatToFloat16(maxMin / q4scale));
        } else {
            y.set(F16_LE, 82, Float.floatToFloat16(0f));
        }
        MemorySegment.copy(sc, 0, y, ValueLayout.JAVA_BYTE, 0, 16);
        float d = Float.float16ToFloat(y.get(F16_LE, 80));
        float dMin = Float.float16ToFloat(y.get(F16_LE, 82));
        for (int j = 0; j < 16; j++) {
            float dl = d * (sc[j] & 0x0F);
            if (dl == 0) {
                continue;
            }
            float dm = dMin * ((sc[j] & 0xFF) >>> 4);
            for (int ii = 0; ii < 16; ii++) {
                levels[16 * j + ii] = clamp(nearestInt((x[base + 16 * j + ii] + dm) / dl), 0, 3);
            }
        }
        packTwoBits(levels, y, 16);
    }

    /** Q2_K/Q3_K quant bytes: value v at byte {@code 32 * (v / 128) + v % 32}, bit shift {@code 2 * ((v % 128) / 32)}. */
    private static void packTwoBits(int[] levels, MemorySegment y, long at) {
        for (int h = 0; h < 2; h++) {
            for (int l = 0; l < 32; l++) {
                int v = 128 * h + l;
                int b = (levels[v] & 3) | (levels[v + 32] & 3) << 2 | (levels[v + 64] & 3) << 4 | (levels[v + 96] & 3) << 6;
                y.set(ValueLayout.JAVA_BYTE, at + 32 * h + l, (byte) b);
            }
        }
    }

    // ---- scale searches ---------------------------------------------------------------------------------

    /**
     * Best {@code scale} and {@code min} for {@code value = scale * q - min} with q in 0..nmax over
     * {@code x[xo, xo + n)}: candidates {@code iscale = (rmin + rdelta * is + nmax) / (max - min)},
     * is = 0..nstep, each refined by weighted least squares; the one with the least weighted squared
     * (or, with {@code useMad}, absolute) error wins. Writes the quants to {@code levels[lo ..]} and the
     * min (as a positive offset) to {@code mins[mi]}; returns the scale.
     */
    static float fitScaleAndMin(int n, int nmax, float[] x, int xo, float[] weights, int[] levels, int lo,
                                float[] mins, int mi, int[] scratch, float rmin, float rdelta, int nstep,
                                boolean useMad) {
        float min = x[xo];
        float max = x[xo];
        float sumW = weights[0];
        float sumX = sumW * x[xo];
        for (int i = 1; i < n; i++) {
            if (x[xo + i] < min) {
                min = x[xo + i];
            }
            if (x[xo + i] > max) {
                max = x[xo + i];
            }
            float w = weights[i];
            sumW += w;
            sumX += w * x[xo + i];
        }
        if (min > 0) {
            min = 0;
        }
        if (max == min) {
            Arrays.fill(levels, lo, lo + n, 0);
            mins[mi] = -min;
            return 0f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; i++) {
            int l = clamp(nearestInt(iscale * (x[xo + i] - min)), 0, nmax);
            levels[lo + i] = l;
            float diff = scale * l + min - x[xo + i];
            bestError += weights[i] * (useMad ? Math.abs(diff) : diff * diff);
        }
        if (nstep < 1) {
            mins[mi] = -min;
            return scale;
        }
        for (int is = 0; is <= nstep; is++) {
            iscale = (rmin + rdelta * is + nmax) / (max - min);
            float sumL = 0;
            float sumL2 = 0;
            float sumXL = 0;
            for (int i = 0; i < n; i++) {
                int l = clamp(nearestInt(iscale * (x[xo + i] - min)), 0, nmax);
                scratch[i] = l;
                float w = weights[i];
                sumL += w * l;
                sumL2 += w * l * l;
                sumXL += w * l * x[xo + i];
            }
            float det = sumW * sumL2 - sumL * sumL;
            if (det > 0) {
                float thisScale = (sumW * sumXL - sumX * sumL) / det;
                float thisMin = (sumL2 * sumX - sumL * sumXL) / det;
                if (thisMin > 0) {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }
                float error = 0;
                for (int i = 0; i < n; i++) {
                    float diff = thisScale * scratch[i] + thisMin - x[xo + i];
                    error += weights[i] * (useMad ? Math.abs(diff) : diff * diff);
                }
                if (error < bestError) {
                    System.arraycopy(scratch, 0, levels, lo, n);
                    bestError = error;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        mins[mi] = -min;
        return scale;
    }

    /**
     * Best scale for {@code value = scale * q} with q in -nmax..nmax-1, weighted by {@code x^2}: 19
     * candidates {@code -(nmax + 0.1 i) / max}, each with the least-squares scale of its quants. Writes
     * the quants plus nmax to {@code levels[lo ..]}; returns the scale (0 for an all-zero group).
     */
    static float fitSymmetricScale(int n, int nmax, float[] x, int xo, int[] levels, int lo) {
        float max = 0;
        float amax = 0;
        for (int i = 0; i < n; i++) {
            float ax = Math.abs(x[xo + i]);
            if (ax > amax) {
                amax = ax;
                max = x[xo + i];
            }
        }
        if (amax < GROUP_MAX_EPS) {
            Arrays.fill(levels, lo, lo + n, 0);
            return 0f;
        }
        float iscale = -nmax / max;
        float sumLX = 0;
        float sumL2 = 0;
        for (int i = 0; i < n; i++) {
            int l = clamp(nearestInt(iscale * x[xo + i]), -nmax, nmax - 1);
            levels[lo + i] = l + nmax;
            float w = x[xo + i] * x[xo + i];
            sumLX += w * x[xo + i] * l;
            sumL2 += w * l * l;
        }
        float scale = sumL2 != 0 ? sumLX / sumL2 : 0f;
        float best = scale * sumLX;
        for (int is = -9; is <= 9; is++) {
            if (is == 0) {
                continue;
            }
            iscale = -(nmax + 0.1f * is) / max;
            sumLX = 0;
            sumL2 = 0;
            for (int i = 0; i < n; i++) {
                int l = clamp(nearestInt(iscale * x[xo + i]), -nmax, nmax - 1);
                float w = x[xo + i] * x[xo + i];
                sumLX += w * x[xo + i] * l;
                sumL2 += w * l * l;
            }
            if (sumL2 > 0 && sumLX * sumLX > best * sumL2) {
                for (int i = 0; i < n; i++) {
                    levels[lo + i] = nmax + clamp(nearestInt(iscale * x[xo + i]), -nmax, nmax - 1);
                }
                scale = sumLX / sumL2;
                best = scale * sumLX;
            }
        }
        return scale;
    }

    /**
     * Q3_K's sub-block scale: quants q in -nmax..nmax-1 first rounded at {@code -nmax / max}, then moved
     * one at a time to {@code round(x * sum(w q^2) / sum(w x q))} (without the value itself) while that
     * raises {@code sum(w x q)^2 / sum(w q^2)}, w = x^2, for up to five passes. Writes quants plus nmax
     * to {@code levels[lo ..]}; returns the least-squares scale.
     */
    static float fitQ3Scale(int n, int nmax, float[] x, int xo, int[] levels, int lo) {
        float max = 0;
        float amax = 0;
        for (int i = 0; i < n; i++) {
            float ax = Math.abs(x[xo + i]);
            if (ax > amax) {
                amax = ax;
                max = x[xo + i];
            }
        }
        if (amax < GROUP_MAX_EPS) {
            Arrays.fill(levels, lo, lo + n, 0);
            return 0f;
        }
        float iscale = -nmax / max;
        float sumLX = 0;
        float sumL2 = 0;
        for (int i = 0; i < n; i++) {
            int l = clamp(nearestInt(iscale * x[xo + i]), -nmax, nmax - 1);
            levels[lo + i] = l;
            float w = x[xo + i] * x[xo + i];
            sumLX += w * x[xo + i] * l;
            sumL2 += w * l * l;
        }
        for (int pass = 0; pass < 5; pass++) {
            int changed = 0;
            for (int i = 0; i < n; i++) {
                float xi = x[xo + i];
                float w = xi * xi;
                int li = levels[lo + i];
                float slx = sumLX - w * xi * li;
                if (slx > 0) {
                    float sl2 = sumL2 - w * li * li;
                    int newL = clamp(nearestInt(xi * sl2 / slx), -nmax, nmax - 1);
                    if (newL != li) {
                        slx += w * xi * newL;
                        sl2 += w * newL * newL;
                        if (sl2 > 0 && slx * slx * sumL2 > sumLX * sumLX * sl2) {
                            levels[lo + i] = newL;
                            sumLX = slx;
                            sumL2 = sl2;
                            changed++;
                        }
                    }
                }
            }
            if (changed == 0) {
                break;
            }
        }
        for (int i = 0; i < n; i++) {
            levels[lo + i] += nmax;
        }
        return sumLX / sumL2;
    }

    /**
     * Round to nearest, ties to even, by ggml's trick of adding 1.5 * 2^23 and reading the mantissa;
     * valid for |v| up to 2^22, and for anything else (NaN included) the same value ggml computes.
     */
    static int nearestInt(float v) {
        int bits = Float.floatToRawIntBits(v + 12582912f);
        return (bits & 0x007FFFFF) - 0x00400000;
    }

    private static int clamp(int v, int lo, int hi) {
        return Math.max(lo, Math.min(hi, v));
    }
}
