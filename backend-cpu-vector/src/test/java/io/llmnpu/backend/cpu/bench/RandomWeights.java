package io.llmnpu.backend.cpu.bench;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

/**
 * Random weight matrices and activations for the benchmarks: values of ordinary magnitude (no
 * subnormals, infinities or NaNs, whose microcode assists would distort timings).
 */
final class RandomWeights {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private RandomWeights() {
    }

    static Tensor matrix(Arena arena, DType dtype, int rows, int cols, long seed) {
        Tensor t = Tensor.allocate(arena, "w", dtype, Shape.of(rows, cols));
        MemorySegment m = t.data();
        SplittableRandom rnd = new SplittableRandom(seed);
        long elements = (long) rows * cols;
        switch (dtype) {
            case F32 -> {
                for (long i = 0; i < elements; i++) {
                    m.setAtIndex(F32, i, (float) (rnd.nextDouble() * 2 - 1));
                }
            }
            case F16, BF16 -> {
                for (long i = 0; i < elements; i++) {
                    float v = (float) (rnd.nextDouble() * 2 - 1);
                    short bits = dtype == DType.F16 ? Float.floatToFloat16(v)
                            : (short) (Float.floatToRawIntBits(v) >>> 16);
                    m.setAtIndex(I16, i, bits);
                }
            }
            case I8, I32 -> throw new IllegalArgumentException("no random weights of " + dtype);
            default -> { // block types: random quants, sub-block scales and masks; ordinary F16 scales
                long blocks = elements / dtype.blockSize();
                int blockBytes = dtype.blockBytes();
                short scale = Float.floatToFloat16(0.01f);
                for (long b = 0; b < blocks; b++) {
                    long off = b * blockBytes;
                    for (int j = 0; j < blockBytes; j++) {
                        m.set(ValueLayout.JAVA_BYTE, off + j, (byte) rnd.nextInt(256));
                    }
                    for (int at : halfScaleOffsets(dtype)) {
                        m.set(I16, off + at, scale);
                    }
                }
            }
        }
        return t;
    }

    /** Where a block of {@code dtype} keeps its F16 scales (and mins). */
    static int[] halfScaleOffsets(DType dtype) {
        return switch (dtype) {
            case Q8_0, Q4_0, Q5_0, IQ4_NL -> new int[] {0};
            case Q4_1, Q5_1, Q4_K, Q5_K -> new int[] {0, 2};
            case Q2_K -> new int[] {80, 82};
            case Q3_K -> new int[] {108};
            case Q6_K -> new int[] {208};
            default -> new int[0];
        };
    }

    static Tensor activations(Arena arena, int rows, int cols, long seed) {
        return matrix(arena, DType.F32, rows, cols, seed);
    }
}
