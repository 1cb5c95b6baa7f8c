package io.llmnpu.backend.cpu.onednn;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Float values to symmetric int8 codes, {@code code = clamp(rint(x / divisor), -127, 127)}, the rule
 * of every int8 operand here: the NPU's per-tensor activations ({@code divisor} is the op's input
 * scale, and the codes must equal the reference NPU's bit for bit), per-token activations and per-row
 * weights. The quotient is the F32 division, rounded to the nearest integer with ties to even; NaN
 * becomes 0, infinities saturate.
 *
 * <p>Vectorised without a rounding instruction: after clamping, adding and subtracting 1.5 * 2^23
 * rounds a float of magnitude at most 127 to an integer with ties to even, exactly as {@code Math.rint},
 * and clamping before rounding equals clamping after it because the limits are integers.
 */
final class Int8Codes {

    static final int LIMIT = 127;

    static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    static final int LANES = FLOATS.length();
    /** Bytes with one lane per float lane (the narrowing target). */
    private static final VectorSpecies<Byte> BYTES = VectorSpecies.of(byte.class,
            VectorShape.forBitSize(Math.max(64, LANES * Byte.SIZE)));
    private static final boolean VECTORS = BYTES.length() == LANES;
    private static final float ROUNDER = 12582912f; // 1.5 * 2^23
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private Int8Codes() {
    }

    /** The code of one value. */
    static byte code(float x, float divisor) {
        double q = Math.rint(x / divisor);
        return (byte) (int) Math.max(-LIMIT, Math.min(LIMIT, q));
    }

    /** Writes the codes of {@code src[off, off + n)} to {@code dst} from byte {@code dstOff}. */
    static void encode(float[] src, int off, int n, float divisor, MemorySegment dst, long dstOff) {
        encode(src, off, n, divisor, true, dst, dstOff, (byte) 0);
    }

    /**
     * Writes the codes plus 128 as unsigned bytes (1..255; 128 is zero), the source operand of the
     * CPU's unsigned-by-signed int8 dot products.
     */
    static void encodeShifted(float[] src, int off, int n, float divisor, MemorySegment dst, long dstOff) {
        encode(src, off, n, divisor, true, dst, dstOff, SIGN_BIT);
    }

    /**
     * {@link #encodeShifted} with the quotient replaced by a product with {@code multiplier} (the
     * reciprocal of the divisor): faster, and within one rounding of the quotient, for codes whose
     * rounding no other device has to match.
     */
    static void encodeShiftedTimes(float[] src, int off, int n, float multiplier, MemorySegment dst, long dstOff) {
        encode(src, off, n, multiplier, false, dst, dstOff, SIGN_BIT);
    }

    /** The byte of code 0 among shifted codes. */
    static final byte SHIFTED_ZERO = (byte) 0x80;
    private static final byte SIGN_BIT = (byte) 0x80;

    /** Adding 128 modulo 256 flips the sign bit of a two's-complement byte. */
    private static void encode(float[] src, int off, int n, float factor, boolean divide, MemorySegment dst,
                               long dstOff, byte flip) {
        int i = 0;
        if (VECTORS) {
            for (; i + LANES <= n; i += LANES) {
                FloatVector x = FloatVector.fromArray(FLOATS, src, off + i);
                FloatVector q = (divide ? x.div(factor) : x.mul(factor))
                        .max(-LIMIT).min(LIMIT).add(ROUNDER).sub(ROUNDER);
                ((ByteVector) q.convertShape(VectorOperators.F2B, BYTES, 0)).lanewise(VectorOperators.XOR, flip)
                        .intoMemorySegment(dst, dstOff + i, LE);
            }
        }
        for (; i < n; i++) {
            float x = src[off + i];
            double q = Math.rint(divide ? x / factor : x * factor);
            dst.set(ValueLayout.JAVA_BYTE, dstOff + i, (byte) ((int) Math.max(-LIMIT, Math.min(LIMIT, q)) ^ flip));
        }
    }

    /** The largest magnitude in {@code src[off, off + n)}; NaN if any value is NaN. */
    static float absMax(float[] src, int off, int n) {
        int i = 0;
        float max = 0;
        if (VECTORS) {
            FloatVector acc = FloatVector.zero(FLOATS);
            for (; i + LANES <= n; i += LANES) {
                acc = acc.max(FloatVector.fromArray(FLOATS, src, off + i).abs());
            }
            max = acc.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) {
            max = Math.max(max, Math.abs(src[off + i]));
        }
        return max;
    }
}
