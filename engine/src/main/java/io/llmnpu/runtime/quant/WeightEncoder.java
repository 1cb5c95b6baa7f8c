package io.llmnpu.runtime.quant;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Dequantizer;
import io.llmnpu.runtime.model.gguf.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Set;

/**
 * Encodes float rows into the weight types llmnpu writes, in GGUF layout: F32, F16, the 32-value block
 * types through {@link BlockQuantizer} and {@link Iq4NlQuantizer}, the k-quants through
 * {@link KQuantizer}, each computed as ggml's reference quantizers compute them.
 */
public final class WeightEncoder {
    /** The types {@code synth} and {@code quantize} can produce. */
    private static final Set<GgmlType> WRITABLE = Set.of(GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0,
            GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.IQ4_NL, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K,
            GgmlType.Q5_K, GgmlType.Q6_K);

    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort F16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private WeightEncoder() {
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
            case Q4_1 -> BlockQuantizer.quantizeQ4_1(x, 0, count, out);
            case Q5_0 -> BlockQuantizer.quantizeQ5_0(x, 0, count, out);
            case Q5_1 -> BlockQuantizer.quantizeQ5_1(x, 0, count, out);
            case IQ4_NL -> Iq4NlQuantizer.quantize(x, 0, count, out);
            case Q2_K, Q3_K, Q4_K, Q5_K, Q6_K -> KQuantizer.quantize(type.dtype().orElseThrow(), x, 0, count, out);
            default -> throw new IllegalArgumentException("cannot write weights as " + type + "; use one of " + WRITABLE);
        }
    }

    /** Whether {@link #decode} can read tensors of {@code type}. */
    public static boolean canDecode(GgmlType type) {
        return type.dtype().map(Dequantizer::canRead).orElse(false);
    }

    /** The {@code count} values stored as {@code type} at the start of {@code data}. */
    public static float[] decode(GgmlType type, MemorySegment data, int count) {
        DType dtype = type.dtype().orElseThrow(() -> new IllegalArgumentException("cannot read " + type + " values"));
        return Dequantizer.dequantize(dtype, data, count);
    }
}
