package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.QuantBlocks.BLOCK;
import static io.llmnpu.backend.cpu.QuantBlocks.QUANTS;
import static io.llmnpu.backend.cpu.VectorSpecs.F32;
import static io.llmnpu.backend.cpu.VectorSpecs.I16;

import io.llmnpu.api.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Widens one row of a weight matrix of any readable dtype to F32, in plain scalar code (embedding
 * lookups; one-off passes such as repacking weights, which are done before the JIT has compiled any
 * vector kernel).
 */
public final class RowDecoder {

    private RowDecoder() {
    }

    public static boolean canRead(DType dtype) {
        return switch (dtype) {
            case F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K -> true;
            case I8, I32 -> false;
        };
    }

    /** Writes row {@code row} of a [rows, width] matrix of {@code dtype} as F32 to {@code dst} at {@code dstOff}. */
    public static void decode(DType dtype, MemorySegment src, long row, int width, MemorySegment dst, long dstOff) {
        if (widenedByWeightRows(dtype)) {
            float[] values = new float[width];
            WeightRows.of(dtype).widen(src, Math.toIntExact(row), width, values, 0);
            MemorySegment.copy(values, 0, dst, F32, dstOff, width);
            return;
        }
        long rowOff = row * dtype.byteSize(width);
        switch (dtype) {
            case F32 -> MemorySegment.copy(src, rowOff, dst, dstOff, (long) width * Float.BYTES);
            case F16 -> {
                for (int i = 0; i < width; i++) {
                    float v = Float.float16ToFloat(src.get(I16, rowOff + (long) i * Short.BYTES));
                    dst.set(F32, dstOff + (long) i * Float.BYTES, v);
                }
            }
            case BF16 -> {
                for (int i = 0; i < width; i++) {
                    float v = Float.intBitsToFloat(src.get(I16, rowOff + (long) i * Short.BYTES) << 16);
                    dst.set(F32, dstOff + (long) i * Float.BYTES, v);
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < width / BLOCK; b++) {
                    long bOff = rowOff + (long) b * dtype.blockBytes();
                    float d = QuantBlocks.scale(src, bOff);
                    for (int j = 0; j < BLOCK; j++) {
                        float v = src.get(ValueLayout.JAVA_BYTE, bOff + QUANTS + j) * d;
                        dst.set(F32, dstOff + ((long) b * BLOCK + j) * Float.BYTES, v);
                    }
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < width / BLOCK; b++) {
                    long bOff = rowOff + (long) b * dtype.blockBytes();
                    float d = QuantBlocks.scale(src, bOff);
                    long out = dstOff + (long) b * BLOCK * Float.BYTES;
                    for (int j = 0; j < BLOCK / 2; j++) {
                        int q = src.get(ValueLayout.JAVA_BYTE, bOff + QUANTS + j) & 0xFF;
                        dst.set(F32, out + (long) j * Float.BYTES, ((q & 0x0F) - 8) * d);
                        dst.set(F32, out + (long) (j + BLOCK / 2) * Float.BYTES, ((q >>> 4) - 8) * d);
                    }
                }
            }
            default -> throw new IllegalArgumentException("cannot read " + dtype + " rows as F32");
        }
    }

    /** The block types whose rows {@link WeightRows} widens, for {@link #decode} and {@link Reader} alike. */
    private static boolean widenedByWeightRows(DType dtype) {
        return switch (dtype) {
            case Q4_1, Q5_0, Q5_1, IQ4_NL, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K -> true;
            default -> false;
        };
    }

    /**
     * A reader of many rows of one dtype into float arrays, for loops over a matrix's rows: {@link #decode}
     * makes a widener and a row of floats per row for the types widened by {@link WeightRows}, where this
     * reader widens straight into the caller's array with one widener (a k-quant widener keeps its row
     * copy from one row to the next). Confined to one thread, like that copy.
     */
    public static Reader reader(DType dtype) {
        if (!canRead(dtype)) {
            throw new IllegalArgumentException("cannot read " + dtype + " rows as F32");
        }
        return new Reader(dtype);
    }

    /** See {@link #reader}. */
    public static final class Reader {
        private final DType dtype;
        /** The widener of the types {@link #decode} widens through {@link WeightRows}; null for the others. */
        private final WeightRows widener;

        private Reader(DType dtype) {
            this.dtype = dtype;
            this.widener = widenedByWeightRows(dtype) ? WeightRows.of(dtype) : null;
        }

        /** Row {@code row} of a [rows, width] matrix in {@code src} as F32 into {@code dst[0, width)}. */
        public void read(MemorySegment src, long row, int width, float[] dst) {
            if (widener != null) {
                widener.widen(src, Math.toIntExact(row), width, dst, 0);
            } else {
                decode(dtype, src, row, width, MemorySegment.ofArray(dst), 0);
            }
        }
    }
}
