package io.llmnpu.runtime.quant;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.runtime.model.gguf.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Locale;
import java.util.Set;

/**
 * Encodes float rows into the weight types llmnpu writes (F32, F16, Q8_0, Q4_0), in GGUF layout.
 * Quantized types go through {@link BlockQuantizer}, so what is written is bit-identical to ggml's
 * reference quantizers.
 */
public final class WeightEncoder {
    /** The types {@code synth} and {@code quantize} can produce. */
    public static final Set<GgmlType> WRITABLE = Set.of(GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0);

    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort F16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private WeightEncoder() {
    }

    /**
     * Parses a weight type as users write it ({@code f32}, {@code f16}, {@code q8_0}, {@code q4_0},
     * any case; {@code q8} and {@code q4} as short forms).
     */
    public static GgmlType parse(String name) {
        String n = name.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        GgmlType type = switch (n) {
            case "F32", "FP32" -> GgmlType.F32;
            case "F16", "FP16" -> GgmlType.F16;
            case "Q8_0", "Q8" -> GgmlType.Q8_0;
            case "Q4_0", "Q4" -> GgmlType.Q4_0;
            default -> null;
        };
        if (type == null) {
            throw new IllegalArgumentException("unknown weight type '" + name + "'; use one of f32, f16, q8_0, q4_0");
        }
        return type;
    }

    /** Bytes of one row of {@code cols} values of {@code type}. */
    public static long rowBytes(GgmlType type, int cols) {
        if (cols % type.blockSize() != 0) {
            throw new IllegalArgumentException("rows of " + cols + " values are not whole " + type + " blocks of "
                    + type.blockSize());
        }
        return (long) cols / type.blockSize() * type.blockBytes();
    }

    /**
     * Writes {@code count} values of {@code x} (from index 0) as {@code type} to {@code out} at byte 0.
     * {@code count} must be a whole number of the type's blocks.
     */
    public static void encode(GgmlType type, float[] x, int count, MemorySegment out) {
        switch (type) {
            case F32 -> MemorySegment.copy(x, 0, out, F32_LE, 0, count);
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    out.set(F16_LE, 2L * i, Float.floatToFloat16(x[i]));
                }
            }
            case Q8_0 -> encodeQ8_0(x, count, out);
            case Q4_0 -> BlockQuantizer.quantizeQ4_0(x, 0, count, out);
            default -> throw new IllegalArgumentException("cannot write weights as " + type + "; use one of " + WRITABLE);
        }
    }

    /**
     * Q8_0 exactly as {@link BlockQuantizer#quantizeQ8_0} (which is ggml's reference), but several times
     * faster: bytes are gathered per block and copied at once, and rounding half away from zero is
     * done in float without a detour through double. {@code v - (int) v} is exact for |v| <= 127, so
     * comparing that fraction with 0.5 rounds exactly like C's roundf.
     */
    private static void encodeQ8_0(float[] x, int count, MemorySegment out) {
        if (count % BlockQuantizer.BLOCK != 0) {
            throw new IllegalArgumentException(count + " values are not a whole number of 32-value blocks");
        }
        byte[] block = new byte[DType.Q8_0.blockBytes()];
        for (int b = 0; b < count / BlockQuantizer.BLOCK; b++) {
            int base = b * BlockQuantizer.BLOCK;
            float amax = 0f;
            for (int j = 0; j < BlockQuantizer.BLOCK; j++) {
                amax = Math.max(amax, Math.abs(x[base + j]));
            }
            float d = amax / 127f;
            float id = d != 0f ? 1f / d : 0f;
            short half = Float.floatToFloat16(d);
            block[0] = (byte) half;
            block[1] = (byte) (half >> 8);
            for (int j = 0; j < BlockQuantizer.BLOCK; j++) {
                float v = x[base + j] * id;
                int q = (int) v;
                float fraction = v - q;
                if (fraction >= 0.5f) {
                    q++;
                } else if (fraction <= -0.5f) {
                    q--;
                }
                block[2 + j] = (byte) q;
            }
            MemorySegment.copy(block, 0, out, ValueLayout.JAVA_BYTE, (long) b * block.length, block.length);
        }
    }

    /** Whether {@link #decode} can read tensors of {@code type}. */
    public static boolean canDecode(GgmlType type) {
        return type.dtype().map(d -> d == DType.F32 || d == DType.F16 || d == DType.BF16
                || d == DType.Q8_0 || d == DType.Q4_0).orElse(false);
    }

    /** The {@code count} values stored as {@code type} at the start of {@code data}. */
    public static float[] decode(GgmlType type, MemorySegment data, int count) {
        DType dtype = type.dtype().orElseThrow(() -> new IllegalArgumentException("cannot read " + type + " values"));
        return BlockQuantizer.dequantize(dtype, data, count);
    }
}
