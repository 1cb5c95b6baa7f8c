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
            case Q8_0, Q4_0 -> {
                long blocks = elements / 32;
                int blockBytes = dtype.blockBytes();
                short scale = Float.floatToFloat16(0.01f);
                for (long b = 0; b < blocks; b++) {
                    long off = b * blockBytes;
                    m.set(I16, off, scale);
                    for (int j = 2; j < blockBytes; j++) {
                        m.set(ValueLayout.JAVA_BYTE, off + j, (byte) rnd.nextInt(256));
                    }
                }
            }
            default -> throw new IllegalArgumentException("no random weights of " + dtype);
        }
        return t;
    }

    static Tensor activations(Arena arena, int rows, int cols, long seed) {
        return matrix(arena, DType.F32, rows, cols, seed);
    }
}
