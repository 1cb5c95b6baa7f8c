package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.VectorSpecs.I16;
import static io.llmnpu.backend.cpu.VectorSpecs.INTS;
import static io.llmnpu.backend.cpu.VectorSpecs.LANES;
import static io.llmnpu.backend.cpu.VectorSpecs.LE;
import static io.llmnpu.backend.cpu.VectorSpecs.QUANTIZED_VECTORS;
import static io.llmnpu.backend.cpu.VectorSpecs.SHORTS;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Linear over 16-bit float weights (F16 or BF16). Each weight row is widened with vector bit
 * arithmetic into a row-sized float[] once and then dotted against every token row with the F32
 * kernel, so the conversion is paid once per row whatever the token count, and never for the whole
 * tensor. (A float[], not a heap segment, because C2 intrinsifies vector stores into arrays only.)
 */
final class HalfMatmul implements MatmulRows {

    /** 2^112: rescales an F16 exponent (bias 15) placed in an F32 (bias 127). */
    private static final float F16_EXPONENT_SHIFT = 0x1p112f;

    private final boolean brain;

    private HalfMatmul(boolean brain) {
        this.brain = brain;
    }

    static HalfMatmul f16() {
        return new HalfMatmul(false);
    }

    static HalfMatmul bf16() {
        return new HalfMatmul(true);
    }

    @Override
    public void compute(MemorySegment w, MemorySegment x, MemorySegment out, int tokens, int k, int n,
                        int from, int to) {
        float[] row = new float[k];
        long rowBytes = (long) k * Short.BYTES;
        for (int r = from; r < to; r++) {
            if (brain) {
                widenBf16(w, r * rowBytes, row, 0, k);
            } else {
                widenF16(w, r * rowBytes, row, 0, k);
            }
            FloatRowDots.dotTokens(row, x, out, tokens, k, n, r);
        }
    }

    /**
     * F16 to F32 without a lookup table: the 15 magnitude bits shifted up by 13 form an F32 whose
     * exponent is 112 too small, which one multiplication by 2^112 fixes, for normal and subnormal
     * values alike. Infinities and NaNs (exponent 31) get the F32 all-ones exponent instead; the sign
     * bit is moved over last.
     */
    static void widenF16(MemorySegment w, long off, float[] dst, int dstOff, int k) {
        int i = 0;
        if (QUANTIZED_VECTORS) {
            int bound = SHORTS.loopBound(k);
            for (; i < bound; i += LANES) {
                IntVector h = (IntVector) ShortVector.fromMemorySegment(SHORTS, w, off + (long) i * Short.BYTES, LE)
                        .convertShape(VectorOperators.S2I, INTS, 0);
                IntVector magnitude = h.and(0x7FFF);
                IntVector bits = magnitude.lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats()
                        .mul(F16_EXPONENT_SHIFT).reinterpretAsInts();
                VectorMask<Integer> special = magnitude.compare(VectorOperators.GE, 0x7C00);
                bits = bits.blend(magnitude.lanewise(VectorOperators.LSHL, 13).or(0x7F800000), special);
                bits.or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats()
                        .intoArray(dst, dstOff + i);
            }
        }
        for (; i < k; i++) {
            dst[dstOff + i] = Float.float16ToFloat(w.get(I16, off + (long) i * Short.BYTES));
        }
    }

    /** BF16 is the upper half of an F32, so widening is a 16-bit shift of the bits. */
    static void widenBf16(MemorySegment w, long off, float[] dst, int dstOff, int k) {
        int i = 0;
        if (QUANTIZED_VECTORS) {
            int bound = SHORTS.loopBound(k);
            for (; i < bound; i += LANES) {
                IntVector bits = (IntVector) ShortVector.fromMemorySegment(SHORTS, w, off + (long) i * Short.BYTES, LE)
                        .convertShape(VectorOperators.S2I, INTS, 0);
                bits.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(dst, dstOff + i);
            }
        }
        for (; i < k; i++) {
            dst[dstOff + i] = Float.intBitsToFloat(w.get(I16, off + (long) i * Short.BYTES) << 16);
        }
    }
}
