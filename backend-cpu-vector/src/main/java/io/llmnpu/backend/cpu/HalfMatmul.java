package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.VectorSpecs.F32;
import static io.llmnpu.backend.cpu.VectorSpecs.I16;
import static io.llmnpu.backend.cpu.VectorSpecs.INTS;
import static io.llmnpu.backend.cpu.VectorSpecs.LANES;
import static io.llmnpu.backend.cpu.VectorSpecs.LE;
import static io.llmnpu.backend.cpu.VectorSpecs.QUANTIZED_VECTORS;
import static io.llmnpu.backend.cpu.VectorSpecs.SHORTS;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Linear over 16-bit float weights (F16 or BF16). Each weight row is widened into a row-sized F32
 * scratch buffer once and then dotted against every token row with the F32 kernel, so the conversion
 * is paid once per row whatever the token count, and never for the whole tensor.
 */
final class HalfMatmul implements MatmulRows {

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
        // byte[]-backed, because the Vector API reads heap segments only when they wrap a byte[].
        MemorySegment row = MemorySegment.ofArray(new byte[k * Float.BYTES]);
        long rowBytes = (long) k * Short.BYTES;
        for (int r = from; r < to; r++) {
            if (brain) {
                widenBf16(w, r * rowBytes, row, k);
            } else {
                widenF16(w, r * rowBytes, row, k);
            }
            FloatRowDots.dotTokens(row, 0, x, out, tokens, k, n, r);
        }
    }

    static void widenF16(MemorySegment w, long off, MemorySegment dst, int k) {
        for (int i = 0; i < k; i++) {
            dst.set(F32, (long) i * Float.BYTES, Float.float16ToFloat(w.get(I16, off + (long) i * Short.BYTES)));
        }
    }

    /** BF16 is the upper half of an F32, so widening is a 16-bit shift of the bits. */
    static void widenBf16(MemorySegment w, long off, MemorySegment dst, int k) {
        int i = 0;
        if (QUANTIZED_VECTORS) {
            int bound = SHORTS.loopBound(k);
            for (; i < bound; i += LANES) {
                ShortVector s = ShortVector.fromMemorySegment(SHORTS, w, off + (long) i * Short.BYTES, LE);
                IntVector bits = (IntVector) s.convertShape(VectorOperators.S2I, INTS, 0);
                bits.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
                        .intoMemorySegment(dst, (long) i * Float.BYTES, LE);
            }
        }
        for (; i < k; i++) {
            int bits = w.get(I16, off + (long) i * Short.BYTES) << 16;
            dst.set(F32, (long) i * Float.BYTES, Float.intBitsToFloat(bits));
        }
    }
}
