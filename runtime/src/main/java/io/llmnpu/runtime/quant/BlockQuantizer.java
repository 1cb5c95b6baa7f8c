package io.llmnpu.runtime.quant;

import io.llmnpu.api.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Converts float values to and from the block formats of ggml, bit-exactly as ggml's reference
 * quantizers do, so files written here match llama.cpp's and kernels can be tested against scalar
 * references.
 *
 * <ul>
 *   <li>Q8_0: per block of 32, {@code d = absmax / 127}, {@code q = roundf(x * (1/d))} (half away from
 *       zero), stored as an F16 {@code d} and 32 signed bytes.</li>
 *   <li>Q4_0: per block of 32, {@code max} is the value of largest magnitude (sign kept),
 *       {@code d = max / -8}, {@code q = min(15, (int) (x * (1/d) + 8.5))}, stored as an F16 {@code d}
 *       and 16 bytes whose low nibble is element j and high nibble element j + 16.</li>
 * </ul>
 * Like ggml, the scale is rounded to F16 for storage but the quants are computed with the float scale.
 * ggml's Q4_0 result depends on whether the compiler fuses {@code x * id + 8.5f} into one FMA (it
 * does in optimized x86-64 and ARM builds, and llama.cpp's Python converter emulates that); this class
 * uses the fused form.
 */
public final class BlockQuantizer {
    public static final int BLOCK = 32;
    private static final ValueLayout.OfShort F16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

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

    /** F16 values of {@code x}, rounded to nearest even. */
    public static byte[] toF16(float[] x) {
        byte[] out = new byte[x.length * 2];
        MemorySegment seg = MemorySegment.ofArray(out);
        for (int i = 0; i < x.length; i++) {
            seg.set(F16_LE, 2L * i, Float.floatToFloat16(x[i]));
        }
        return out;
    }

    /**
     * Scalar reference dequantization of {@code count} values stored as {@code type} in {@code data}
     * (F32, F16, BF16, Q8_0 or Q4_0).
     */
    public static float[] dequantize(DType type, MemorySegment data, int count) {
        float[] out = new float[count];
        switch (type) {
            case F32 -> {
                for (int i = 0; i < count; i++) {
                    out[i] = data.get(F32_LE, 4L * i);
                }
            }
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    out[i] = Float.float16ToFloat(data.get(F16_LE, 2L * i));
                }
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    out[i] = Float.intBitsToFloat((data.get(F16_LE, 2L * i) & 0xFFFF) << 16);
                }
            }
            case Q8_0 -> {
                checkBlocks(count);
                for (int b = 0; b < count / BLOCK; b++) {
                    long at = (long) b * DType.Q8_0.blockBytes();
                    float d = Float.float16ToFloat(data.get(F16_LE, at));
                    for (int j = 0; j < BLOCK; j++) {
                        out[b * BLOCK + j] = data.get(ValueLayout.JAVA_BYTE, at + 2 + j) * d;
                    }
                }
            }
            case Q4_0 -> {
                checkBlocks(count);
                for (int b = 0; b < count / BLOCK; b++) {
                    long at = (long) b * DType.Q4_0.blockBytes();
                    float d = Float.float16ToFloat(data.get(F16_LE, at));
                    for (int j = 0; j < BLOCK / 2; j++) {
                        int packed = data.get(ValueLayout.JAVA_BYTE, at + 2 + j) & 0xFF;
                        out[b * BLOCK + j] = ((packed & 0x0F) - 8) * d;
                        out[b * BLOCK + BLOCK / 2 + j] = ((packed >>> 4) - 8) * d;
                    }
                }
            }
            default -> throw new IllegalArgumentException("no reference dequantizer for " + type);
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
