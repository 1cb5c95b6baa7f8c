package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.VectorSpecs.F32;
import static io.llmnpu.backend.cpu.VectorSpecs.I16;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Dequantizer;
import java.lang.foreign.MemorySegment;

/**
 * Reads single values of a weight matrix of any readable dtype, for the rare accesses that do not
 * follow rows: one column of the matrix when an outlier shows up in a channel with no compact copy.
 */
public final class WeightElements {

    private WeightElements() {
    }

    /**
     * Column {@code col} of rows [0, rows) of a [rows, width] matrix of {@code dtype} stored in {@code w},
     * into {@code dst[off ..]}: for block types one block per row decoded into one scratch block (a block
     * allocated per value was 8 GB of garbage while a TinyLlama benchmark's outlier columns were read).
     */
    public static void column(DType dtype, MemorySegment w, int col, int width, int rows, float[] dst, int off) {
        switch (dtype) {
            case Q4_1, Q5_0, Q5_1, IQ4_NL, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K -> {
                float[] block = new float[dtype.blockSize()];
                long rowBytes = dtype.byteSize(width);
                long inRow = (long) (col / dtype.blockSize()) * dtype.blockBytes();
                for (int r = 0; r < rows; r++) {
                    Dequantizer.decodeBlock(dtype, w, r * rowBytes + inRow, block, 0);
                    dst[off + r] = block[col % dtype.blockSize()];
                }
            }
            default -> {
                for (int r = 0; r < rows; r++) {
                    dst[off + r] = get(dtype, w, r, col, width);
                }
            }
        }
    }

    /** Value [row, col] of a [rows, width] matrix of {@code dtype} stored in {@code w}. */
    public static float get(DType dtype, MemorySegment w, int row, int col, int width) {
        long rowOff = (long) row * dtype.byteSize(width);
        return switch (dtype) {
            case F32 -> w.get(F32, rowOff + (long) col * Float.BYTES);
            case F16 -> Float.float16ToFloat(w.get(I16, rowOff + (long) col * Short.BYTES));
            case BF16 -> Float.intBitsToFloat(w.get(I16, rowOff + (long) col * Short.BYTES) << 16);
            case Q8_0 -> QuantBlocks.q8(w, rowOff + (long) (col / QuantBlocks.BLOCK) * QuantBlocks.Q8_BYTES,
                    col % QuantBlocks.BLOCK);
            case Q4_0 -> QuantBlocks.q4(w, rowOff + (long) (col / QuantBlocks.BLOCK) * QuantBlocks.Q4_BYTES,
                    col % QuantBlocks.BLOCK);
            case Q4_1, Q5_0, Q5_1, IQ4_NL, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K -> {
                float[] block = new float[dtype.blockSize()];
                Dequantizer.decodeBlock(dtype, w, rowOff + (long) (col / dtype.blockSize()) * dtype.blockBytes(), block, 0);
                yield block[col % dtype.blockSize()];
            }
            case I8, I32 -> throw new IllegalArgumentException("cannot read " + dtype + " weights as F32");
        };
    }
}
