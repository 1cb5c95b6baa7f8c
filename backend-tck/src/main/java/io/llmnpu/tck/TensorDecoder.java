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
 * <p>Block layouts are GGUF's (see {@link DType}): a Q8_0 block is a little-endian F16 scale d and 32
 * signed bytes q, value q * d; a Q4_0 block is an F16 scale d and 16 bytes whose low nibble is element j
 * and high nibble element j + 16, value (nibble - 8) * d; Q4_1, Q5_0, Q5_1 and IQ4_NL add a min, a fifth
 * bit or a level table to that; the k-quants Q2_K..Q6_K are super-blocks of 256 values with sub-block
 * scales (and mins) quantized against F16 super-block scales. Each value is computed in double from
 * its own bits, element by element, in the order the layout defines.
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
            case Q4_1, Q5_0, Q5_1, IQ4_NL -> {
                for (int i = 0; i < n; i++) {
                    out[i] = smallBlockValue(tensor.dtype(), data, i);
                }
            }
            case Q2_K, Q3_K, Q4_K, Q5_K, Q6_K -> {
                for (int i = 0; i < n; i++) {
                    out[i] = kQuantValue(tensor.dtype(), data, i);
                }
            }
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

    /** Value {@code i} of a Q4_1, Q5_0, Q5_1 or IQ4_NL tensor (blocks of 32). */
    private static double smallBlockValue(DType type, MemorySegment data, int i) {
        long base = (long) (i / BLOCK) * type.blockBytes();
        int j = i % BLOCK;
        double d = half(data, base);
        boolean hasMin = type == DType.Q4_1 || type == DType.Q5_1;
        boolean hasFifthBit = type == DType.Q5_0 || type == DType.Q5_1;
        long quants = base + 2 + (hasMin ? 2 : 0) + (hasFifthBit ? 4 : 0);
        int packed = unsigned(data, quants + j % 16);
        int q = j < 16 ? packed & 0x0f : packed >>> 4;
        if (hasFifthBit) {
            long maskAt = base + 2 + (hasMin ? 2 : 0);
            int maskByte = unsigned(data, maskAt + j / 8); // the 32-bit mask is little-endian: bit j in byte j / 8
            q += ((maskByte >>> (j % 8)) & 1) * 16;
        }
        return switch (type) {
            case Q4_1, Q5_1 -> q * d + half(data, base + 2);
            case Q5_0 -> (q - 16) * d;
            default -> IQ4_NL_LEVELS[q] * d;
        };
    }

    private static final int[] IQ4_NL_LEVELS = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

    /** Value {@code i} of a k-quant tensor (super-blocks of 256). */
    private static double kQuantValue(DType type, MemorySegment data, int i) {
        long base = (long) (i / 256) * type.blockBytes();
        int v = i % 256;
        return switch (type) {
            case Q2_K -> {
                // scales[16] | qs[64] | d | dmin
                int sc = unsigned(data, base + v / 16);
                int q = twoBits(data, base + 16, v);
                yield half(data, base + 80) * (sc & 0x0f) * q - half(data, base + 82) * (sc >>> 4);
            }
            case Q3_K -> {
                // hmask[32] | qs[64] | scales[12] | d
                int sub = v / 16;
                long s = base + 96;
                int low = sub < 8 ? unsigned(data, s + sub) & 0x0f : unsigned(data, s + sub - 8) >>> 4;
                int high = (unsigned(data, s + 8 + sub % 4) >>> (2 * (sub / 4))) & 3;
                int scale = (low | high << 4) - 32;
                int q = twoBits(data, base + 32, v);
                boolean highBit = ((unsigned(data, base + v % 32) >>> (v / 32)) & 1) == 1;
                yield half(data, base + 108) * scale * (q - (highBit ? 0 : 4));
            }
            case Q4_K, Q5_K -> {
                // d | dmin | scales[12] | (Q5_K: qh[32]) | qs[128]
                int sub = v / 32;
                long s = base + 4;
                int scale;
                int min;
                if (sub < 4) {
                    scale = unsigned(data, s + sub) & 63;
                    min = unsigned(data, s + sub + 4) & 63;
                } else {
                    scale = (unsigned(data, s + sub + 4) & 0x0f) | (unsigned(data, s + sub - 4) >>> 6) << 4;
                    min = (unsigned(data, s + sub + 4) >>> 4) | (unsigned(data, s + sub) >>> 6) << 4;
                }
                boolean five = type == DType.Q5_K;
                int packed = unsigned(data, base + (five ? 48 : 16) + 32 * (sub / 2) + v % 32);
                int q = sub % 2 == 0 ? packed & 0x0f : packed >>> 4;
                if (five) {
                    q += ((unsigned(data, base + 16 + v % 32) >>> sub) & 1) * 16;
                }
                yield half(data, base) * scale * q - half(data, base + 2) * min;
            }
            default -> {
                // Q6_K: ql[128] | qh[64] | scales[16] (signed) | d
                int half128 = v / 128;
                int quarter = (v % 128) / 32;
                int l = v % 32;
                int lowByte = unsigned(data, base + 64L * half128 + l + 32L * (quarter % 2));
                int low = quarter < 2 ? lowByte & 0x0f : lowByte >>> 4;
                int high = (unsigned(data, base + 128 + 32L * half128 + l) >>> (2 * quarter)) & 3;
                int scale = data.get(ValueLayout.JAVA_BYTE, base + 192 + v / 16);
                yield half(data, base + 208) * scale * ((low | high << 4) - 32);
            }
        };
    }

    /** The 2-bit quant of value v of a Q2_K/Q3_K block whose 64 quant bytes start at {@code qs}. */
    private static int twoBits(MemorySegment data, long qs, int v) {
        int packed = unsigned(data, qs + 32L * (v / 128) + v % 32);
        return (packed >>> (2 * ((v % 128) / 32))) & 3;
    }

    private static double half(MemorySegment data, long at) {
        return halfToDouble(Short.toUnsignedInt(data.get(U16, at)));
    }

    private static int unsigned(MemorySegment data, long at) {
        return Byte.toUnsignedInt(data.get(ValueLayout.JAVA_BYTE, at));
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
