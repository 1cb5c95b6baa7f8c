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
            case Q8_0 -> BlockQuantizer.quantizeQ8_0(x, 0, count, out);
            case Q4_0 -> BlockQuantizer.quantizeQ4_0(x, 0, count, out);
            default -> throw new IllegalArgumentException("cannot write weights as " + type + "; use one of " + WRITABLE);
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
