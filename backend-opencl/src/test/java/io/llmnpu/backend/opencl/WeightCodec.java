package io.llmnpu.backend.opencl;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

/**
 * Random weights in every storage type, and an independent decoder that turns the stored bytes back
 * into doubles following the GGUF layouts, for the reference computations.
 */
final class WeightCodec {
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;

    private WeightCodec() {
    }

    /**
     * A [rows, cols] weight of {@code type}. Float types hold uniform values in [-1, 1); quantized
     * types hold random block bytes with random F16 scales of both signs, so every code and nibble
     * position occurs and the layout is tested independently of any quantizer.
     */
    static Tensor random(Arena arena, String name, DType type, int rows, int cols, Random rnd) {
        Tensor t = Tensor.allocate(arena, name, type, Shape.of(rows, cols));
        MemorySegment m = t.data();
        long n = (long) rows * cols;
        switch (type) {
            case F32 -> {
                for (long i = 0; i < n; i++) {
                    m.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, rnd.nextFloat() * 2 - 1);
                }
            }
            case F16 -> {
                for (long i = 0; i < n; i++) {
                    m.setAtIndex(SHORT, i, Float.floatToFloat16(rnd.nextFloat() * 2 - 1));
                }
            }
            case BF16 -> {
                for (long i = 0; i < n; i++) {
                    m.setAtIndex(SHORT, i, (short) (Float.floatToRawIntBits(rnd.nextFloat() * 2 - 1) >>> 16));
                }
            }
            case Q8_0, Q4_0 -> {
                long blocks = n / 32;
                int blockBytes = type.blockBytes();
                for (long b = 0; b < blocks; b++) {
                    long at = b * blockBytes;
                    float scale = (0.002f + rnd.nextFloat() * 0.05f) * (rnd.nextBoolean() ? 1 : -1);
                    m.set(SHORT, at, Float.floatToFloat16(scale));
                    for (int j = 2; j < blockBytes; j++) {
                        m.set(ValueLayout.JAVA_BYTE, at + j, (byte) rnd.nextInt(256));
                    }
                }
            }
            default -> throw new IllegalArgumentException("no weights of type " + type);
        }
        return t;
    }

    /** Value {@code i} (row-major) of a weight, decoded from its bytes in double. */
    static double value(Tensor w, long i) {
        MemorySegment m = w.data();
        return switch (w.dtype()) {
            case F32 -> m.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            case F16 -> Float.float16ToFloat(m.getAtIndex(SHORT, i));
            case BF16 -> Float.intBitsToFloat((m.getAtIndex(SHORT, i) & 0xFFFF) << 16);
            case Q8_0 -> {
                long block = (i / 32) * 34;
                double d = Float.float16ToFloat(m.get(SHORT, block));
                yield d * m.get(ValueLayout.JAVA_BYTE, block + 2 + i % 32);
            }
            case Q4_0 -> {
                long block = (i / 32) * 18;
                double d = Float.float16ToFloat(m.get(SHORT, block));
                int j = (int) (i % 32);
                int packed = m.get(ValueLayout.JAVA_BYTE, block + 2 + (j % 16)) & 0xFF;
                int q = j < 16 ? packed & 0x0F : packed >>> 4;
                yield d * (q - 8);
            }
            default -> throw new IllegalArgumentException("no weights of type " + w.dtype());
        };
    }

    static double[][] matrix(Tensor w) {
        int rows = w.shape().dim(0);
        int cols = w.shape().dim(1);
        double[][] out = new double[rows][cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out[r][c] = value(w, (long) r * cols + c);
            }
        }
        return out;
    }

    static double[] vector(Tensor w) {
        double[] out = new double[Math.toIntExact(w.shape().elements())];
        for (int i = 0; i < out.length; i++) {
            out[i] = value(w, i);
        }
        return out;
    }
}
