package io.llmnpu.api.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Scalar dequantization of every float and block type of {@link DType}, in float with the operation
 * order of ggml's {@code dequantize_row_*} (e.g. Q4_K's {@code (d * scale) * q - dmin * min}), so the
 * values are those llama.cpp sees. Block layouts are described on {@link DType}. It is the plain
 * definition of each layout that the runtime (re-quantizing a file, INT8 packing for an NPU) and
 * backends (slow paths such as single elements) share; backends read weights on their hot paths with
 * their own kernels, and the conformance suite checks them with its own double-precision decoder.
 */
public final class Dequantizer {
    private static final ValueLayout.OfShort F16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Dequantizer() {
    }

    /** Whether {@link #dequantize} reads {@code type} (every float and block type; not I8 or I32). */
    public static boolean canRead(DType type) {
        return type != DType.I8 && type != DType.I32;
    }

    /**
     * The {@code count} values stored as {@code type} at the start of {@code data}.
     *
     * @throws IllegalArgumentException if {@code count} is not a whole number of blocks or the type holds
     *                                  no float values (I8, I32)
     */
    public static float[] dequantize(DType type, MemorySegment data, int count) {
        float[] out = new float[count];
        dequantize(type, data, out, 0, count);
        return out;
    }

    /** Writes the {@code count} values stored as {@code type} at the start of {@code data} to {@code out[o ..]}. */
    public static void dequantize(DType type, MemorySegment data, float[] out, int o, int count) {
        if (!canRead(type)) {
            throw new IllegalArgumentException("no reference dequantizer for " + type);
        }
        if (count % type.blockSize() != 0) {
            throw new IllegalArgumentException(count + " values are not a whole number of " + type.blockSize()
                    + "-value " + type + " blocks");
        }
        int blocks = count / type.blockSize();
        for (int b = 0; b < blocks; b++) {
            decodeBlock(type, data, (long) b * type.blockBytes(), out, o + b * type.blockSize());
        }
    }

    /**
     * Writes the {@code type.blockSize()} values of the block at byte {@code at} of {@code data} to
     * {@code out[o ..]}.
     */
    public static void decodeBlock(DType type, MemorySegment data, long at, float[] out, int o) {
        switch (type) {
            case F32 -> out[o] = data.get(F32_LE, at);
            case F16 -> out[o] = half(data, at);
            case BF16 -> out[o] = Float.intBitsToFloat((data.get(F16_LE, at) & 0xFFFF) << 16);
            case Q8_0 -> {
                float d = half(data, at);
                for (int j = 0; j < 32; j++) {
                    out[o + j] = data.get(ValueLayout.JAVA_BYTE, at + 2 + j) * d;
                }
            }
            case Q4_0 -> {
                float d = half(data, at);
                for (int j = 0; j < 16; j++) {
                    int q = u8(data, at + 2 + j);
                    out[o + j] = ((q & 0x0F) - 8) * d;
                    out[o + j + 16] = ((q >>> 4) - 8) * d;
                }
            }
            case Q4_1 -> {
                float d = half(data, at);
                float m = half(data, at + 2);
                for (int j = 0; j < 16; j++) {
                    int q = u8(data, at + 4 + j);
                    out[o + j] = (q & 0x0F) * d + m;
                    out[o + j + 16] = (q >>> 4) * d + m;
                }
            }
            case Q5_0 -> {
                float d = half(data, at);
                int qh = data.get(I32_LE, at + 2);
                for (int j = 0; j < 16; j++) {
                    int q = u8(data, at + 6 + j);
                    out[o + j] = (((q & 0x0F) | ((qh >>> j) & 1) << 4) - 16) * d;
                    out[o + j + 16] = (((q >>> 4) | ((qh >>> (j + 16)) & 1) << 4) - 16) * d;
                }
            }
            case Q5_1 -> {
                float d = half(data, at);
                float m = half(data, at + 2);
                int qh = data.get(I32_LE, at + 4);
                for (int j = 0; j < 16; j++) {
                    int q = u8(data, at + 8 + j);
                    out[o + j] = ((q & 0x0F) | ((qh >>> j) & 1) << 4) * d + m;
                    out[o + j + 16] = ((q >>> 4) | ((qh >>> (j + 16)) & 1) << 4) * d + m;
                }
            }
            case IQ4_NL -> {
                float d = half(data, at);
                for (int j = 0; j < 16; j++) {
                    int q = u8(data, at + 2 + j);
                    out[o + j] = d * DType.iq4nlLevel(q & 0x0F);
                    out[o + j + 16] = d * DType.iq4nlLevel(q >>> 4);
                }
            }
            case Q2_K -> q2K(data, at, out, o);
            case Q3_K -> q3K(data, at, out, o);
            case Q4_K -> q45K(data, at, out, o, false);
            case Q5_K -> q45K(data, at, out, o, true);
            case Q6_K -> q6K(data, at, out, o);
            case I8, I32 -> throw new IllegalArgumentException("no reference dequantizer for " + type);
        }
    }

    /** Q2_K: 16 scale bytes, 64 quant bytes, F16 d, F16 dmin. */
    private static void q2K(MemorySegment data, long at, float[] out, int o) {
        float d = half(data, at + 80);
        float min = half(data, at + 82);
        for (int v = 0; v < 256; v++) {
            int sc = u8(data, at + v / 16);
            int q = (u8(data, at + 16 + 32 * (v / 128) + v % 32) >>> (2 * ((v % 128) / 32))) & 3;
            float dl = d * (sc & 0x0F);
            float ml = min * (sc >>> 4);
            out[o + v] = dl * q - ml;
        }
    }

    /** Q3_K: 32 hmask bytes, 64 quant bytes, 12 scale bytes, F16 d. */
    private static void q3K(MemorySegment data, long at, float[] out, int o) {
        float d = half(data, at + 108);
        for (int v = 0; v < 256; v++) {
            int scale = q3KScale(data, at + 96, v / 16) - 32;
            int q = (u8(data, at + 32 + 32 * (v / 128) + v % 32) >>> (2 * ((v % 128) / 32))) & 3;
            boolean high = (u8(data, at + v % 32) >>> (v / 32) & 1) != 0;
            float dl = d * scale;
            out[o + v] = dl * (q - (high ? 0 : 4));
        }
    }

    /** The 6-bit scale {@code i} (0..15) of a Q3_K block whose 12 scale bytes start at {@code s}. */
    public static int q3KScale(MemorySegment data, long s, int i) {
        int low = i < 8 ? u8(data, s + i) & 0x0F : u8(data, s + i - 8) >>> 4;
        int high = (u8(data, s + 8 + i % 4) >>> (2 * (i / 4))) & 3;
        return low | high << 4;
    }

    /** Q4_K and Q5_K: F16 d, F16 dmin, 12 scale bytes, (Q5_K: 32 qh bytes), 128 nibble bytes. */
    private static void q45K(MemorySegment data, long at, float[] out, int o, boolean fifthBit) {
        float d = half(data, at);
        float min = half(data, at + 2);
        long qs = at + (fifthBit ? 48 : 16);
        for (int i = 0; i < 8; i++) {
            float dl = d * kScale(data, at + 4, i);
            float ml = min * kMin(data, at + 4, i);
            for (int l = 0; l < 32; l++) {
                int b = u8(data, qs + 32 * (i / 2) + l);
                int q = (i % 2 == 0) ? b & 0x0F : b >>> 4;
                if (fifthBit && (u8(data, at + 16 + l) >>> i & 1) != 0) {
                    q += 16;
                }
                out[o + 32 * i + l] = dl * q - ml;
            }
        }
    }

    /** The 6-bit scale of sub-block {@code i} (0..7) of a Q4_K/Q5_K block whose scale bytes start at {@code s}. */
    public static int kScale(MemorySegment data, long s, int i) {
        return i < 4 ? u8(data, s + i) & 63 : (u8(data, s + i + 4) & 0x0F) | (u8(data, s + i - 4) >>> 6) << 4;
    }

    /** The 6-bit min of sub-block {@code i} (0..7) of a Q4_K/Q5_K block whose scale bytes start at {@code s}. */
    public static int kMin(MemorySegment data, long s, int i) {
        return i < 4 ? u8(data, s + i + 4) & 63 : (u8(data, s + i + 4) >>> 4) | (u8(data, s + i) >>> 6) << 4;
    }

    /** Q6_K: 128 ql bytes, 64 qh bytes, 16 signed scales, F16 d. */
    private static void q6K(MemorySegment data, long at, float[] out, int o) {
        float d = half(data, at + 208);
        for (int v = 0; v < 256; v++) {
            int h = v / 128;
            int s = (v % 128) / 32;
            int l = v % 32;
            int lowByte = u8(data, at + 64 * h + l + (s % 2 == 1 ? 32 : 0));
            int low = s < 2 ? lowByte & 0x0F : lowByte >>> 4;
            int high = (u8(data, at + 128 + 32 * h + l) >>> (2 * s)) & 3;
            int scale = data.get(ValueLayout.JAVA_BYTE, at + 192 + v / 16);
            out[o + v] = d * scale * ((low | high << 4) - 32);
        }
    }

    private static float half(MemorySegment data, long at) {
        return Float.float16ToFloat(data.get(F16_LE, at));
    }

    private static int u8(MemorySegment data, long at) {
        return data.get(ValueLayout.JAVA_BYTE, at) & 0xFF;
    }
}
