package io.llmnpu.tck;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Reads tensors into doubles for the reference, decoding every storage format from its bits. The
 * decoding is written out here on purpose, with no help from the JDK's half-float conversion or
 * from any backend, so that a backend and the reference cannot share a decoding mistake.
 *
 * <p>Block layouts are GGUF's: a Q8_0 block is a little-endian F16 scale d and 32 signed bytes q,
 * value q * d; a Q4_0 block is an F16 scale d and 16 bytes whose low nibble is element j and high
 * nibble element j + 16, value (nibble - 8) * d.
 */
public final class TensorDecoder {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int BLOCK = 32;

    private TensorDecoder() {
    }

    /**
     * Every element of {@code tensor} as a double, in storage order.
     *
     * @throws IllegalArgumentException for I8, whose per-tensor scale a tensor does not carry
     */
    public static double[] toDoubles(Tensor tensor) {
        int n = Math.toIntExact(tensor.shape().elements());
        MemorySegment data = tensor.data();
        double[] out = new double[n];
        switch (tensor.dtype()) {
            case F32 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = data.getAtIndex(F32, i);
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = halfToDouble(Short.toUnsignedInt(data.getAtIndex(U16, i)));
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = bfloat16ToDouble(Short.toUnsignedInt(data.getAtIndex(U16, i)));
                }
            }
            case Q8_0 -> decodeQ8_0(data, n, out);
            case Q4_0 -> decodeQ4_0(data, n, out);
            case I32 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = data.getAtIndex(I32, i);
                }
            }
            case I8 -> throw new IllegalArgumentException(
                    "tensor " + tensor.name() + " is I8, whose scale is not stored in the tensor; the reference cannot decode it");
        }
        return out;
    }

    /** Every element of an I32 tensor. */
    public static int[] toInts(Tensor tensor) {
        if (tensor.dtype() != DType.I32) {
            throw new IllegalArgumentException("tensor " + tensor.name() + " is " + tensor.dtype() + ", not I32");
        }
        int n = Math.toIntExact(tensor.shape().elements());
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = tensor.data().getAtIndex(I32, i);
        }
        return out;
    }

    /** IEEE 754 binary16: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits. */
    public static double halfToDouble(int bits) {
        int sign = (bits >>> 15) & 1;
        int exponent = (bits >>> 10) & 0x1f;
        int mantissa = bits & 0x3ff;
        double magnitude;
        if (exponent == 0) {
            magnitude = Math.scalb((double) mantissa, -24); // subnormal: 0.mantissa * 2^-14
        } else if (exponent == 0x1f) {
            magnitude = mantissa == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
        } else {
            magnitude = Math.scalb((double) (1024 + mantissa), exponent - 25); // 1.mantissa * 2^(e-15)
        }
        return sign == 1 ? -magnitude : magnitude;
    }

    /** bfloat16: the upper half of an IEEE 754 binary32 (1 sign, 8 exponent bits with bias 127, 7 mantissa bits). */
    public static double bfloat16ToDouble(int bits) {
        int sign = (bits >>> 15) & 1;
        int exponent = (bits >>> 7) & 0xff;
        int mantissa = bits & 0x7f;
        double magnitude;
        if (exponent == 0) {
            magnitude = Math.scalb((double) mantissa, -133); // subnormal: 0.mantissa * 2^-126
        } else if (exponent == 0xff) {
            magnitude = mantissa == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
        } else {
            magnitude = Math.scalb((double) (128 + mantissa), exponent - 134); // 1.mantissa * 2^(e-127)
        }
        return sign == 1 ? -magnitude : magnitude;
    }

    private static void decodeQ8_0(MemorySegment data, int n, double[] out) {
        int blockBytes = DType.Q8_0.blockBytes();
        for (int b = 0; b < n / BLOCK; b++) {
            long base = (long) b * blockBytes;
            double d = halfToDouble(Short.toUnsignedInt(data.get(U16, base)));
            for (int j = 0; j < BLOCK; j++) {
                out[b * BLOCK + j] = data.get(ValueLayout.JAVA_BYTE, base + 2 + j) * d;
            }
        }
    }

    private static void decodeQ4_0(MemorySegment data, int n, double[] out) {
        int blockBytes = DType.Q4_0.blockBytes();
        for (int b = 0; b < n / BLOCK; b++) {
            long base = (long) b * blockBytes;
            double d = halfToDouble(Short.toUnsignedInt(data.get(U16, base)));
            for (int j = 0; j < BLOCK / 2; j++) {
                int packed = Byte.toUnsignedInt(data.get(ValueLayout.JAVA_BYTE, base + 2 + j));
                out[b * BLOCK + j] = ((packed & 0x0f) - 8) * d;
                out[b * BLOCK + j + BLOCK / 2] = ((packed >>> 4) - 8) * d;
            }
        }
    }
}
