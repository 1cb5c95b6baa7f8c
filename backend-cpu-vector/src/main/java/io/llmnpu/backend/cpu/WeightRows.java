package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.QuantBlocks.BLOCK;
import static io.llmnpu.backend.cpu.QuantBlocks.QUANTS;
import static io.llmnpu.backend.cpu.VectorSpecs.BYTES;
import static io.llmnpu.backend.cpu.VectorSpecs.F32;
import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;
import static io.llmnpu.backend.cpu.VectorSpecs.LANES;
import static io.llmnpu.backend.cpu.VectorSpecs.LE;
import static io.llmnpu.backend.cpu.VectorSpecs.QUANTIZED_VECTORS;

import io.llmnpu.api.tensor.DType;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Widens whole rows of a weight matrix [rows, k] of one dtype to F32 in a float[], with vector
 * conversions: the GEMM's way of reading quantized and 16-bit weights. A row is widened once per
 * GEMM call and then used by every token row, so the conversion costs 1/T of the arithmetic. Each
 * value is the exact product {@code quant * scale} rounded to float, as {@link RowDecoder} gives. A
 * {@link MatrixEngine} reads weights through it too, so every engine sees the same values.
 */
@FunctionalInterface
public interface WeightRows {

    /** Writes row {@code row} of {@code w} (k values) as floats to {@code dst[dstOff .. dstOff + k)}. */
    void widen(MemorySegment w, int row, int k, float[] dst, int dstOff);

    static WeightRows of(DType dtype) {
        return switch (dtype) {
            case F32 -> (w, row, k, dst, off) ->
                    MemorySegment.copy(w, F32, (long) row * k * Float.BYTES, dst, off, k);
            case F16 -> (w, row, k, dst, off) -> HalfMatmul.widenF16(w, (long) row * k * Short.BYTES, dst, off, k);
            case BF16 -> (w, row, k, dst, off) -> HalfMatmul.widenBf16(w, (long) row * k * Short.BYTES, dst, off, k);
            case Q8_0 -> WeightRows::widenQ8;
            case Q4_0 -> WeightRows::widenQ4;
            case Q4_1, Q5_0, Q5_1, IQ4_NL -> SmallBlockRows.of(dtype);
            case Q2_K, Q3_K, Q4_K, Q5_K, Q6_K -> KQuantRows.of(dtype);
            case I8, I32 -> throw new IllegalArgumentException("no F32 widening of " + dtype + " weights");
        };
    }

    private static void widenQ8(MemorySegment w, int row, int k, float[] dst, int off) {
        int blocks = k / BLOCK;
        long rowOff = (long) row * blocks * QuantBlocks.Q8_BYTES;
        for (int b = 0; b < blocks; b++) {
            long bOff = rowOff + (long) b * QuantBlocks.Q8_BYTES;
            float d = QuantBlocks.scale(w, bOff);
            int o = off + b * BLOCK;
            if (QUANTIZED_VECTORS) {
                for (int j = 0; j < BLOCK; j += LANES) {
                    ((FloatVector) ByteVector.fromMemorySegment(BYTES, w, bOff + QUANTS + j, LE)
                            .convertShape(VectorOperators.B2F, FLOATS, 0)).mul(d).intoArray(dst, o + j);
                }
            } else {
                for (int j = 0; j < BLOCK; j++) {
                    dst[o + j] = w.get(java.lang.foreign.ValueLayout.JAVA_BYTE, bOff + QUANTS + j) * d;
                }
            }
        }
    }

    /** Byte j of a Q4_0 block holds value j in its low nibble and value j + 16 in its high nibble. */
    private static void widenQ4(MemorySegment w, int row, int k, float[] dst, int off) {
        int blocks = k / BLOCK;
        int half = BLOCK / 2;
        long rowOff = (long) row * blocks * QuantBlocks.Q4_BYTES;
        for (int b = 0; b < blocks; b++) {
            long bOff = rowOff + (long) b * QuantBlocks.Q4_BYTES;
            float d = QuantBlocks.scale(w, bOff);
            int o = off + b * BLOCK;
            if (QUANTIZED_VECTORS) {
                for (int j = 0; j < half; j += LANES) {
                    ByteVector q = ByteVector.fromMemorySegment(BYTES, w, bOff + QUANTS + j, LE);
                    ((FloatVector) q.and((byte) 0x0F).sub((byte) 8).convertShape(VectorOperators.B2F, FLOATS, 0))
                            .mul(d).intoArray(dst, o + j);
                    ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).sub((byte) 8)
                            .convertShape(VectorOperators.B2F, FLOATS, 0)).mul(d).intoArray(dst, o + j + half);
                }
            } else {
                for (int j = 0; j < half; j++) {
                    int q = w.get(java.lang.foreign.ValueLayout.JAVA_BYTE, bOff + QUANTS + j) & 0xFF;
                    dst[o + j] = ((q & 0x0F) - 8) * d;
                    dst[o + j + half] = ((q >>> 4) - 8) * d;
                }
            }
        }
    }
}
