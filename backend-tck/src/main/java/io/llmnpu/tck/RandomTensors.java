package io.llmnpu.tck;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Int8Weights;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

/**
 * Makes seeded random test tensors in one arena. Weights of every type are written as raw encoded
 * bits (random F16 and BF16 values, random block scales and quants), so the reference checks a
 * backend's decoding of exactly those bits rather than of values some encoder chose.
 */
final class RandomTensors {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int BLOCK = 32;

    private final Arena arena;
    private final Random random;

    RandomTensors(Arena arena, Random random) {
        this.arena = arena;
        this.random = random;
    }

    Random random() {
        return random;
    }

    /** F32 values uniform in [-magnitude, magnitude]. */
    Tensor uniform(String name, Shape shape, double magnitude) {
        Tensor t = Tensor.allocate(arena, name, DType.F32, shape);
        for (long i = 0; i < shape.elements(); i++) {
            t.data().setAtIndex(F32, i, (float) ((random.nextDouble() * 2 - 1) * magnitude));
        }
        return t;
    }

    /** F32 values copied from {@code values}. */
    Tensor floats(String name, Shape shape, float[] values) {
        Tensor t = Tensor.allocate(arena, name, DType.F32, shape);
        MemorySegment.copy(values, 0, t.data(), F32, 0, values.length);
        return t;
    }

    /** Every element set to {@code value}: NaN marks output elements a backend failed to write. */
    Tensor filled(String name, DType dtype, Shape shape, float value) {
        Tensor t = Tensor.allocate(arena, name, dtype, shape);
        if (dtype == DType.F32) {
            for (long i = 0; i < shape.elements(); i++) {
                t.data().setAtIndex(F32, i, value);
            }
        }
        return t;
    }

    /** A zero-filled tensor of any type (for bindings that only need the right or wrong type). */
    Tensor zeros(String name, DType dtype, Shape shape) {
        return Tensor.allocate(arena, name, dtype, shape);
    }

    Tensor ints(String name, int[] values) {
        Tensor t = Tensor.allocate(arena, name, DType.I32, Shape.of(values.length));
        for (int i = 0; i < values.length; i++) {
            t.data().setAtIndex(I32, i, values[i]);
        }
        return t;
    }

    /** A weight tensor of {@code dtype} whose values lie roughly within [-magnitude, magnitude]. */
    Tensor weights(String name, DType dtype, Shape shape, double magnitude) {
        return switch (dtype) {
            case F32 -> uniform(name, shape, magnitude);
            case F16 -> halves(name, shape, magnitude);
            case BF16 -> bfloats(name, shape, magnitude);
            case Q8_0 -> q8_0(name, shape, magnitude);
            case Q4_0 -> q4_0(name, shape, magnitude);
            case Q4_1, Q5_0, Q5_1, IQ4_NL, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K -> blocks(name, dtype, shape, magnitude);
            case I8, I32 -> zeros(name, dtype, shape);
        };
    }

    private Tensor halves(String name, Shape shape, double magnitude) {
        Tensor t = Tensor.allocate(arena, name, DType.F16, shape);
        for (long i = 0; i < shape.elements(); i++) {
            short bits;
            if (random.nextInt(64) == 0) {
                // a subnormal now and then, so decoders must handle exponent 0
                bits = (short) ((random.nextBoolean() ? 0x8000 : 0) | (1 + random.nextInt(0x3ff)));
            } else {
                bits = Float.floatToFloat16((float) ((random.nextDouble() * 2 - 1) * magnitude));
            }
            t.data().setAtIndex(U16, i, bits);
        }
        return t;
    }

    private Tensor bfloats(String name, Shape shape, double magnitude) {
        Tensor t = Tensor.allocate(arena, name, DType.BF16, shape);
        for (long i = 0; i < shape.elements(); i++) {
            float f = (float) ((random.nextDouble() * 2 - 1) * magnitude);
            t.data().setAtIndex(U16, i, (short) (Float.floatToRawIntBits(f) >>> 16));
        }
        return t;
    }

    private Tensor q8_0(String name, Shape shape, double magnitude) {
        Tensor t = Tensor.allocate(arena, name, DType.Q8_0, shape);
        long blocks = shape.elements() / BLOCK;
        for (long b = 0; b < blocks; b++) {
            long base = b * DType.Q8_0.blockBytes();
            t.data().set(U16, base, Float.floatToFloat16(blockScale(magnitude / 127)));
            for (int j = 0; j < BLOCK; j++) {
                t.data().set(ValueLayout.JAVA_BYTE, base + 2 + j, (byte) random.nextInt(256));
            }
        }
        return t;
    }

    private Tensor q4_0(String name, Shape shape, double magnitude) {
        Tensor t = Tensor.allocate(arena, name, DType.Q4_0, shape);
        long blocks = shape.elements() / BLOCK;
        for (long b = 0; b < blocks; b++) {
            long base = b * DType.Q4_0.blockBytes();
            // llama.cpp's quantizer makes negative scales too (d = max / -8), so both signs occur
            float d = blockScale(magnitude / 8) * (random.nextBoolean() ? 1 : -1);
            t.data().set(U16, base, Float.floatToFloat16(d));
            for (int j = 0; j < BLOCK / 2; j++) {
                t.data().set(ValueLayout.JAVA_BYTE, base + 2 + j, (byte) random.nextInt(256));
            }
        }
        return t;
    }

    /**
     * Random bytes in every quant, mask and sub-block scale field, and F16 block scales (and mins) chosen
     * so that values stay roughly within [-magnitude, magnitude]; symmetric types get scales of both signs,
     * as llama.cpp's quantizers produce them.
     */
    private Tensor blocks(String name, DType dtype, Shape shape, double magnitude) {
        Tensor t = Tensor.allocate(arena, name, dtype, shape);
        MemorySegment data = t.data();
        long blocks = shape.elements() / dtype.blockSize();
        for (long b = 0; b < blocks; b++) {
            long base = b * dtype.blockBytes();
            for (int i = 0; i < dtype.blockBytes(); i++) {
                data.set(ValueLayout.JAVA_BYTE, base + i, (byte) random.nextInt(256));
            }
            double sign = random.nextBoolean() ? 1 : -1;
            switch (dtype) {
                case Q4_1 -> {
                    float d = blockScale(magnitude / 8);
                    half(data, base, d);
                    half(data, base + 2, (float) (-8 * d * (0.75 + 0.5 * random.nextDouble())));
                }
                case Q5_0 -> half(data, base, (float) (sign * blockScale(magnitude / 16)));
                case Q5_1 -> {
                    float d = blockScale(magnitude / 16);
                    half(data, base, d);
                    half(data, base + 2, (float) (-16 * d * (0.75 + 0.5 * random.nextDouble())));
                }
                case IQ4_NL -> half(data, base, (float) (sign * blockScale(magnitude / 127)));
                case Q2_K -> { // value = d * scale * q - dmin * min, scale and min 4 bits, q 2 bits
                    half(data, base + 80, blockScale(magnitude / 45));
                    half(data, base + 82, blockScale(magnitude / 30));
                }
                case Q3_K -> half(data, base + 108, (float) (sign * blockScale(magnitude / 128))); // (scale - 32) * (q - 4)
                case Q4_K -> { // 6-bit scales and mins, 4-bit quants
                    half(data, base, blockScale(magnitude / (63 * 15)));
                    half(data, base + 2, blockScale(magnitude / (63 * 2)));
                }
                case Q5_K -> {
                    half(data, base, blockScale(magnitude / (63 * 31)));
                    half(data, base + 2, blockScale(magnitude / (63 * 2)));
                }
                case Q6_K -> half(data, base + 208, (float) (sign * blockScale(magnitude / (128 * 32)))); // int8 scales, q - 32
                default -> throw new IllegalArgumentException("not a block type handled here: " + dtype);
            }
        }
        return t;
    }

    private static void half(MemorySegment data, long at, float value) {
        data.set(U16, at, Float.floatToFloat16(value));
    }

    /** A block scale between half and all of {@code top}, so blocks differ in scale. */
    private float blockScale(double top) {
        return (float) (top * (0.5 + 0.5 * random.nextDouble()));
    }

    /**
     * INT8 weights [rows, cols] with codes uniform in [-127, 127] (both limits forced into the first row,
     * where there is room) and one scale, or one per row, between half and all of {@code scale}.
     */
    Int8Weights int8(String name, int rows, int cols, boolean perRow, double scale) {
        MemorySegment codes = arena.allocate((long) rows * cols);
        for (long i = 0; i < (long) rows * cols; i++) {
            codes.set(ValueLayout.JAVA_BYTE, i, (byte) (random.nextInt(255) - 127));
        }
        if (cols >= 2) {
            codes.set(ValueLayout.JAVA_BYTE, 0, (byte) 127);
            codes.set(ValueLayout.JAVA_BYTE, 1, (byte) -127);
        }
        float[] scales = new float[perRow ? rows : 1];
        for (int r = 0; r < scales.length; r++) {
            scales[r] = (float) (scale * (0.5 + 0.5 * random.nextDouble()));
        }
        return new Int8Weights(name, Shape.of(rows, cols), codes, scales);
    }
}
