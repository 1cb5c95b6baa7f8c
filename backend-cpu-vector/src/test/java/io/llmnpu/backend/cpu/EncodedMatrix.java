package io.llmnpu.backend.cpu;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Dequantizer;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

/**
 * A random weight matrix in some dtype, together with the real values its encoding stands for, decoded
 * here independently of the backend. Quantized blocks are written directly as random bytes behind a
 * random F16 scale, so every quant value (including -128 and both nibble extremes) occurs.
 */
record EncodedMatrix(Tensor tensor, double[] values) {

    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    static EncodedMatrix random(Arena arena, DType dtype, int rows, int cols, Random rnd) {
        Tensor t = Tensor.allocate(arena, "w_" + dtype, dtype, Shape.of(rows, cols));
        MemorySegment m = t.data();
        double[] values = new double[rows * cols];
        switch (dtype) {
            case F32 -> {
                for (int i = 0; i < values.length; i++) {
                    float v = rnd.nextFloat() * 2 - 1;
                    m.set(F32, 4L * i, v);
                    values[i] = v;
                }
            }
            case F16 -> {
                for (int i = 0; i < values.length; i++) {
                    short h = Float.floatToFloat16(rnd.nextFloat() * 2 - 1);
                    m.set(I16, 2L * i, h);
                    values[i] = Float.float16ToFloat(h);
                }
            }
            case BF16 -> {
                for (int i = 0; i < values.length; i++) {
                    int bits = Float.floatToRawIntBits(rnd.nextFloat() * 2 - 1) >>> 16;
                    m.set(I16, 2L * i, (short) bits);
                    values[i] = Float.intBitsToFloat(bits << 16);
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < values.length / 32; b++) {
                    long off = 34L * b;
                    double scale = writeScale(m, off, rnd);
                    for (int j = 0; j < 32; j++) {
                        byte q = (byte) rnd.nextInt(256);
                        m.set(ValueLayout.JAVA_BYTE, off + 2 + j, q);
                        values[b * 32 + j] = q * scale;
                    }
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < values.length / 32; b++) {
                    long off = 18L * b;
                    double scale = writeScale(m, off, rnd);
                    for (int j = 0; j < 16; j++) {
                        int q = rnd.nextInt(256);
                        m.set(ValueLayout.JAVA_BYTE, off + 2 + j, (byte) q);
                        values[b * 32 + j] = ((q & 0xF) - 8) * scale;
                        values[b * 32 + j + 16] = ((q >> 4) - 8) * scale;
                    }
                }
            }
            case Q4_K, Q5_K, Q6_K, Q4_1, Q5_0, Q5_1 -> {
                // Random bytes everywhere (every quant, fifth bit, scale and min occurs), then finite F16 d (and
                // dmin or m);
                // the values are what core-api's Dequantizer, checked against llama.cpp, makes of them.
                int blockBytes = dtype.blockBytes();
                for (long i = 0; i < m.byteSize(); i++) {
                    m.set(ValueLayout.JAVA_BYTE, i, (byte) rnd.nextInt(256));
                }
                for (long b = 0; b < values.length / dtype.blockSize(); b++) {
                    long off = b * blockBytes;
                    if (dtype == DType.Q6_K) {
                        writeScale(m, off + 208, rnd);
                    } else if (dtype == DType.Q5_0) {
                        writeScale(m, off, rnd);
                    } else {
                        writeScale(m, off, rnd);
                        writeScale(m, off + 2, rnd);
                    }
                }
                float[] decoded = Dequantizer.dequantize(dtype, m, values.length);
                for (int i = 0; i < values.length; i++) {
                    values[i] = decoded[i];
                }
            }
            default -> throw new IllegalArgumentException("no random encoder for " + dtype);
        }
        return new EncodedMatrix(t, values);
    }

    /** A random F16 scale of either sign and a spread of magnitudes; returns its exact value. */
    private static double writeScale(MemorySegment m, long off, Random rnd) {
        float magnitude = (float) Math.pow(10, -3 + 2 * rnd.nextDouble());
        short h = Float.floatToFloat16(rnd.nextBoolean() ? magnitude : -magnitude);
        m.set(I16, off, h);
        return Float.float16ToFloat(h);
    }
}
