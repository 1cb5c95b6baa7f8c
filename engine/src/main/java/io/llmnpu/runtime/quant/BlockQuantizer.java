package io.llmnpu.runtime.quant;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Dequantizer;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Converts float values to ggml's block formats of 32 values, bit-exactly as ggml's reference
 * quantizers do, so files written here match llama.cpp's and kernels can be tested against scalar
 * references ({@link Dequantizer} reads them back; {@link KQuantizer} writes the 256-value
 * k-quants).
 *
 * <ul>
 *   <li>Q8_0: per block of 32, {@code d = absmax / 127}, {@code q = roundf(x * (1/d))} (half away from
 *       zero), stored as an F16 {@code d} and 32 signed bytes.</li>
 *   <li>Q4_0: per block of 32, {@code max} is the value of largest magnitude (sign kept),
 *       {@code d = max / -8}, {@code q = min(15, (int) (x * (1/d) + 8.5))}, stored as an F16 {@code d}
 *       and 16 bytes whose low nibble is element j and high nibble element j + 16.</li>
 *   <li>Q4_1: per block, {@code d = (max - min) / 15}, {@code q = min(15, (int) ((x - min) * (1/d) + 0.5))},
 *       stored as F16 {@code d}, F16 {@code min} and nibbles as Q4_0.</li>
 *   <li>Q5_0: {@code d = max / -16} (max as for Q4_0), {@code q = min(31, (int) (x * (1/d) + 16.5))}; the
 *       low four bits as Q4_0's nibbles, the fifth bits in a 32-bit mask (bit j for element j).</li>
 *   <li>Q5_1: {@code d = (max - min) / 31}, {@code q = (int) ((x - min) * (1/d) + 0.5)}, stored as F16
 *       {@code d}, F16 {@code min}, the mask and the nibbles.</li>
 * </ul>
 * Like ggml, the scale is rounded to F16 for storage but the quants are computed with the float scale.
 * ggml's results depend on whether the compiler fuses {@code x * id + 8.5f} (and the like) into one FMA
 * (it does in optimized x86-64 and ARM builds, and llama.cpp's Python converter emulates that); this
 * class uses the fused form.
 */
public final class BlockQuantizer {
    public static final int BLOCK = 32;
    private static final ValueLayout.OfShort F16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private BlockQuantizer() {
    }

    /** Q8_0 blocks of {@code x} (length a multiple of 32). */
    public static byte[] quantizeQ8_0(float[] x) {
        byte[] out = new byte[(int) DType.Q8_0.byteSize(checkBlocks(x.length))];
        quantizeQ8_0(x, 0, x.length, MemorySegment.ofArray(out));
        return out;
    }

    /** Writes Q8_0 blocks of {@code x[from, from + count)} to {@code out} starting at byte 0. */
    public static void quantizeQ8_0(float[] x, int from, int count, MemorySegment out) {
        checkBlocks(count);
        for (int b = 0; b < count / BLOCK; b++) {
            int base = from + b * BLOCK;
            float amax = 0f;
            for (int j = 0; j < BLOCK; j++) {
                amax = Math.max(amax, Math.abs(x[base + j]));
            }
            float d = amax / 127f;
            float id = d != 0f ? 1f / d : 0f;
            long at = (long) b * DType.Q8_0.blockBytes();
            out.set(F16_LE, at, Float.floatToFloat16(d));
            for (int j = 0; j < BLOCK; j++) {
                out.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) roundHalfAwayFromZero(x[base + j] * id));
            }
        }
    }

    /** Q4_0 blocks of {@code x} (length a multiple of 32). */
    public static byte[] quantizeQ4_0(float[] x) {
        byte[] out = new byte[(int) DType.Q4_0.byteSize(checkBlocks(x.length))];
        quantizeQ4_0(x, 0, x.length, MemorySegment.ofArray(out));
        return out;
    }

    /** Writes Q4_0 blocks of {@code x[from, from + count)} to {@code out} starting at byte 0. */
    public static void quantizeQ4_0(float[] x, int from, int count, MemorySegment out) {
        checkBlocks(count);
        for (int b = 0; b < count / BLOCK; b++) {
            int base = from + b * BLOCK;
            float amax = 0f;
            float max = 0f;
            for (int j = 0; j < BLOCK; j++) {
                float v = x[base + j];
                if (amax < Math.abs(v)) { // first value of the largest magnitude wins, as in ggml
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -8f;
            float id = d != 0f ? 1f / d : 0f;
            long at = (long) b * DType.Q4_0.blockBytes();
            out.set(F16_LE, at, Float.floatToFloat16(d));
            for (int j = 0; j < BLOCK / 2; j++) {
                int lo = Math.min(15, (int) Math.fma(x[base + j], id, 8.5f));
                int hi = Math.min(15, (int) Math.fma(x[base + BLOCK / 2 + j], id, 8.5f));
                out.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) (lo | (hi << 4)));
            }
        }
    }

    /** Writes Q4_1 blocks of {@code x[from, from + count)} to {@code out} starting at byte 0. */
    public static void quantizeQ4_1(float[] x, int from, int count, MemorySegment out) {
        checkBlocks(count);
        for (int b = 0; b < count / BLOCK; b++) {
            int base = from + b * BLOCK;
            float min = Float.MAX_VALUE;
            float max = -Float.MAX_VALUE;
            for (int j = 0; j < BLOCK; j++) { // comparisons as in ggml (Math.min would order -0 before 0)
                float v = x[base + j];
                if (v < min) {
                    min = v;
                }
                if (v > max) {
                    max = v;
                }
            }
            float d = (max - min) / 15f;
            float id = d != 0f ? 1f / d : 0f;
            long at = (long) b * DType.Q4_1.blockBytes();
            out.set(F16_LE, at, Float.floatToFloat16(d));
            out.set(F16_LE, at + 2, Float.floatToFloat16(min));
            for (int j = 0; j < BLOCK / 2; j++) {
                int lo = Math.min(15, (int) Math.fma(x[base + j] - min, id, 0.5f));
                int hi = Math.min(15, (int) Math.fma(x[base + BLOCK / 2 + j] - min, id, 0.5f));
                out.set(ValueLayout.JAVA_BYTE, at + 4 + j, (byte) (lo | (hi << 4)));
            }
        }
    }

    /** Writes Q5_0 blocks of {@code x[from, from + count)} to {@code out} starting at byte 0. */
    public static void quantizeQ5_0(float[] x, int from, int count, MemorySegment out) {
        checkBlocks(count);
        for (int b = 0; b < count / BLOCK; b++) {
            int base = from + b * BLOCK;
            float amax = 0f;
            float max = 0f;
            for (int j = 0; j < BLOCK; j++) {
                float v = x[base + j];
                if (amax < Math.abs(v)) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -16f;
            float id = d != 0f ? 1f / d : 0f;
            long at = (long) b * DType.Q5_0.blockBytes();
            out.set(F16_LE, at, Float.floatToFloat16(d));
            int qh = 0;
            for (int j = 0; j < BLOCK / 2; j++) {
                int lo = Math.min(31, (int) Math.fma(x[base + j], id, 16.5f));
                int hi = Math.min(31, (int) Math.fma(x[base + BLOCK / 2 + j], id, 16.5f));
                out.set(ValueLayout.JAVA_BYTE, at + 6 + j, (byte) ((lo & 0x0F) | (hi & 0x0F) << 4));
                qh |= (lo >>> 4 & 1) << j | (hi >>> 4 & 1) << (j + BLOCK / 2);
            }
            out.set(I32_LE, at + 2, qh);
        }
    }

    /** Writes Q5_1 blocks of {@code x[from, from + count)} to {@code out} starting at byte 0. */
    public static void quantizeQ5_1(float[] x, int from, int count, MemorySegment out) {
        checkBlocks(count);
        for (int b = 0; b < count / BLOCK; b++) {
            int base = from + b * BLOCK;
            float min = Float.MAX_VALUE;
            float max = -Float.MAX_VALUE;
            for (int j = 0; j < BLOCK; j++) { // comparisons as in ggml (Math.min would order -0 before 0)
                float v = x[base + j];
                if (v < min) {
                    min = v;
                }
                if (v > max) {
                    max = v;
                }
            }
            float d = (max - min) / 31f;
            float id = d != 0f ? 1f / d : 0f;
            long at = (long) b * DType.Q5_1.blockBytes();
            out.set(F16_LE, at, Float.floatToFloat16(d));
            out.set(F16_LE, at + 2, Float.floatToFloat16(min));
            int qh = 0;
            for (int j = 0; j < BLOCK / 2; j++) {
                int lo = (int) Math.fma(x[base + j] - min, id, 0.5f);
                int hi = (int) Math.fma(x[base + BLOCK / 2 + j] - min, id, 0.5f);
                out.set(ValueLayout.JAVA_BYTE, at + 8 + j, (byte) ((lo & 0x0F) | (hi & 0x0F) << 4));
                qh |= (lo >>> 4 & 1) << j | (hi >>> 4 & 1) << (j + BLOCK / 2);
            }
            out.set(I32_LE, at + 4, qh);
        }
    }

    /** F16 values of {@code x}, rounded to nearest even. */
    public static byte[] toF16(float[] x) {
        byte[] out = new byte[x.length * 2];
        MemorySegment seg = MemorySegment.ofArray(out);
        for (int i = 0; i < x.length; i++) {
            seg.set(F16_LE, 2L * i, Float.floatToFloat16(x[i]));
        }
        return out;
    }

    /** C's roundf: halfway cases go away from zero (Java's Math.round would send -2.5 to -2). */
    static int roundHalfAwayFromZero(float v) {
        double r = Math.floor(Math.abs((double) v) + 0.5); // exact in double, unlike float
        return (int) Math.copySign(r, v);
    }

    private static long checkBlocks(long count) {
        if (count % BLOCK != 0) {
            throw new IllegalArgumentException(count + " values are not a whole number of " + BLOCK + "-value blocks");
        }
        return count;
    }
}
