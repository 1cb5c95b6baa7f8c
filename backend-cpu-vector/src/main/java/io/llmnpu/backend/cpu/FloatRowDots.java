package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.VectorSpecs.F32;
import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;
import static io.llmnpu.backend.cpu.VectorSpecs.LANES;
import static io.llmnpu.backend.cpu.VectorSpecs.LE;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * One F32 weight row against every token row. Token rows go four at a time so that each weight vector
 * is loaded once per four dot products: prefill reads the weight row once per group of four tokens
 * instead of once per token, and the row stays in L1 between groups. The row comes either straight
 * from weight memory or from a float[] that a 16-bit row was widened into.
 *
 * <p>The four-row and one-row loops are separate small methods on purpose: C2 compiles each on its
 * own, within its inlining budget, so every Vector API call in them becomes an intrinsic.
 */
final class FloatRowDots {

    private FloatRowDots() {
    }

    /** out[t, row] = w[wOff .. wOff + 4k) · x[t] for every token row t; n is the stride of out's rows. */
    static void dotTokens(MemorySegment w, long wOff, MemorySegment x, MemorySegment out,
                          int tokens, int k, int n, int row) {
        long xStride = (long) k * Float.BYTES;
        long outStride = (long) n * Float.BYTES;
        int t = 0;
        for (; t + 4 <= tokens; t += 4) {
            dot4(w, wOff, x, t * xStride, xStride, k, out, ((long) t * n + row) * Float.BYTES, outStride);
        }
        for (; t < tokens; t++) {
            out.set(F32, ((long) t * n + row) * Float.BYTES, VectorMath.dot(w, wOff, x, t * xStride, k));
        }
    }

    /** The same for a row held in a float[]. */
    static void dotTokens(float[] w, MemorySegment x, MemorySegment out, int tokens, int k, int n, int row) {
        long xStride = (long) k * Float.BYTES;
        long outStride = (long) n * Float.BYTES;
        int t = 0;
        for (; t + 4 <= tokens; t += 4) {
            dot4(w, x, t * xStride, xStride, k, out, ((long) t * n + row) * Float.BYTES, outStride);
        }
        for (; t < tokens; t++) {
            out.set(F32, ((long) t * n + row) * Float.BYTES, dot1(w, x, t * xStride, k));
        }
    }

    private static void dot4(MemorySegment w, long wOff, MemorySegment x, long x0, long xStride, int k,
                             MemorySegment out, long outOff, long outStride) {
        long x1 = x0 + xStride;
        long x2 = x1 + xStride;
        long x3 = x2 + xStride;
        FloatVector a0 = FloatVector.zero(FLOATS);
        FloatVector a1 = FloatVector.zero(FLOATS);
        FloatVector a2 = FloatVector.zero(FLOATS);
        FloatVector a3 = FloatVector.zero(FLOATS);
        int bound = FLOATS.loopBound(k);
        int i = 0;
        for (; i < bound; i += LANES) {
            long o = (long) i * Float.BYTES;
            FloatVector wv = FloatVector.fromMemorySegment(FLOATS, w, wOff + o, LE);
            a0 = wv.fma(FloatVector.fromMemorySegment(FLOATS, x, x0 + o, LE), a0);
            a1 = wv.fma(FloatVector.fromMemorySegment(FLOATS, x, x1 + o, LE), a1);
            a2 = wv.fma(FloatVector.fromMemorySegment(FLOATS, x, x2 + o, LE), a2);
            a3 = wv.fma(FloatVector.fromMemorySegment(FLOATS, x, x3 + o, LE), a3);
        }
        float s0 = VectorMath.sum(a0);
        float s1 = VectorMath.sum(a1);
        float s2 = VectorMath.sum(a2);
        float s3 = VectorMath.sum(a3);
        for (; i < k; i++) {
            long o = (long) i * Float.BYTES;
            float wi = w.get(F32, wOff + o);
            s0 += wi * x.get(F32, x0 + o);
            s1 += wi * x.get(F32, x1 + o);
            s2 += wi * x.get(F32, x2 + o);
            s3 += wi * x.get(F32, x3 + o);
        }
        out.set(F32, outOff, s0);
        out.set(F32, outOff + outStride, s1);
        out.set(F32, outOff + 2 * outStride, s2);
        out.set(F32, outOff + 3 * outStride, s3);
    }

    private static void dot4(float[] w, MemorySegment x, long x0, long xStride, int k,
                             MemorySegment out, long outOff, long outStride) {
        long x1 = x0 + xStride;
        long x2 = x1 + xStride;
        long x3 = x2 + xStride;
        FloatVector a0 = FloatVector.zero(FLOATS);
        FloatVector a1 = FloatVector.zero(FLOATS);
        FloatVector a2 = FloatVector.zero(FLOATS);
        FloatVector a3 = FloatVector.zero(FLOATS);
        int bound = FLOATS.loopBound(k);
        int i = 0;
        for (; i < bound; i += LANES) {
            long o = (long) i * Float.BYTES;
            FloatVector wv = FloatVector.fromArray(FLOATS, w, i);
            a0 = wv.fma(FloatVector.fromMemorySegment(FLOATS, x, x0 + o, LE), a0);
            a1 = wv.fma(FloatVector.fromMemorySegment(FLOATS, x, x1 + o, LE), a1);
            a2 = wv.fma(FloatVector.fromMemorySegment(FLOATS, x, x2 + o, LE), a2);
            a3 = wv.fma(FloatVector.fromMemorySegment(FLOATS, x, x3 + o, LE), a3);
        }
        float s0 = VectorMath.sum(a0);
        float s1 = VectorMath.sum(a1);
        float s2 = VectorMath.sum(a2);
        float s3 = VectorMath.sum(a3);
        for (; i < k; i++) {
            long o = (long) i * Float.BYTES;
            s0 += w[i] * x.get(F32, x0 + o);
            s1 += w[i] * x.get(F32, x1 + o);
            s2 += w[i] * x.get(F32, x2 + o);
            s3 += w[i] * x.get(F32, x3 + o);
        }
        out.set(F32, outOff, s0);
        out.set(F32, outOff + outStride, s1);
        out.set(F32, outOff + 2 * outStride, s2);
        out.set(F32, outOff + 3 * outStride, s3);
    }

    private static float dot1(float[] w, MemorySegment x, long x0, int k) {
        FloatVector a0 = FloatVector.zero(FLOATS);
        FloatVector a1 = FloatVector.zero(FLOATS);
        int i = 0;
        int pairBound = k - 2 * LANES + 1;
        for (; i < pairBound; i += 2 * LANES) {
            long o = (long) i * Float.BYTES;
            a0 = FloatVector.fromArray(FLOATS, w, i).fma(FloatVector.fromMemorySegment(FLOATS, x, x0 + o, LE), a0);
            a1 = FloatVector.fromArray(FLOATS, w, i + LANES)
                    .fma(FloatVector.fromMemorySegment(FLOATS, x, x0 + o + (long) LANES * Float.BYTES, LE), a1);
        }
        int bound = FLOATS.loopBound(k);
        for (; i < bound; i += LANES) {
            a0 = FloatVector.fromArray(FLOATS, w, i)
                    .fma(FloatVector.fromMemorySegment(FLOATS, x, x0 + (long) i * Float.BYTES, LE), a0);
        }
        float sum = VectorMath.sum(a0.add(a1));
        for (; i < k; i++) {
            sum += w[i] * x.get(F32, x0 + (long) i * Float.BYTES);
        }
        return sum;
    }
}
