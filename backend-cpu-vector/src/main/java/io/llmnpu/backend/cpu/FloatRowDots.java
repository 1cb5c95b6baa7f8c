package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.VectorSpecs.F32;
import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;
import static io.llmnpu.backend.cpu.VectorSpecs.LANES;
import static io.llmnpu.backend.cpu.VectorSpecs.LE;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * One F32 weight row against every token row. Token rows go four at a time so that each weight vector
 * is loaded once per four dot products: prefill reads the weight row once per group of four tokens
 * instead of once per token, and the row stays in L1 between groups.
 */
final class FloatRowDots {

    private FloatRowDots() {
    }

    /**
     * out[t, row] = w[wOff .. wOff + 4k) · x[t] for every t.
     *
     * @param n the number of output features (the stride of out's rows)
     */
    static void dotTokens(MemorySegment w, long wOff, MemorySegment x, MemorySegment out,
                          int tokens, int k, int n, int row) {
        long xStride = (long) k * Float.BYTES;
        int bound = FLOATS.loopBound(k);
        int t = 0;
        for (; t + 4 <= tokens; t += 4) {
            long x0 = t * xStride;
            long x1 = x0 + xStride;
            long x2 = x1 + xStride;
            long x3 = x2 + xStride;
            FloatVector a0 = FloatVector.zero(FLOATS);
            FloatVector a1 = FloatVector.zero(FLOATS);
            FloatVector a2 = FloatVector.zero(FLOATS);
            FloatVector a3 = FloatVector.zero(FLOATS);
            int i = 0;
            for (; i < bound; i += LANES) {
                long o = (long) i * Float.BYTES;
                FloatVector wv = FloatVector.fromMemorySegment(FLOATS, w, wOff + o, LE);
                a0 = wv.fma(FloatVector.fromMemorySegment(FLOATS, x, x0 + o, LE), a0);
                a1 = wv.fma(FloatVector.fromMemorySegment(FLOATS, x, x1 + o, LE), a1);
                a2 = wv.fma(FloatVector.fromMemorySegment(FLOATS, x, x2 + o, LE), a2);
                a3 = wv.fma(FloatVector.fromMemorySegment(FLOATS, x, x3 + o, LE), a3);
            }
            float s0 = a0.reduceLanes(VectorOperators.ADD);
            float s1 = a1.reduceLanes(VectorOperators.ADD);
            float s2 = a2.reduceLanes(VectorOperators.ADD);
            float s3 = a3.reduceLanes(VectorOperators.ADD);
            for (; i < k; i++) {
                long o = (long) i * Float.BYTES;
                float wi = w.get(F32, wOff + o);
                s0 += wi * x.get(F32, x0 + o);
                s1 += wi * x.get(F32, x1 + o);
                s2 += wi * x.get(F32, x2 + o);
                s3 += wi * x.get(F32, x3 + o);
            }
            long outStride = (long) n * Float.BYTES;
            long outOff = ((long) t * n + row) * Float.BYTES;
            out.set(F32, outOff, s0);
            out.set(F32, outOff + outStride, s1);
            out.set(F32, outOff + 2 * outStride, s2);
            out.set(F32, outOff + 3 * outStride, s3);
        }
        for (; t < tokens; t++) {
            out.set(F32, ((long) t * n + row) * Float.BYTES, VectorMath.dot(w, wOff, x, t * xStride, k));
        }
    }
}
