package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.VectorSpecs.F32;
import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;
import static io.llmnpu.backend.cpu.VectorSpecs.LANES;
import static io.llmnpu.backend.cpu.VectorSpecs.LE;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;

/**
 * Small vector building blocks shared by the kernels. Offsets are in bytes, counts in floats.
 *
 * <p>Results must not depend on the thread count or on how far the JIT has got: the runtime relies on
 * one execution giving the same numbers as another (decode equals prefill, reproducible sampling).
 * {@code reduceLanes(ADD)} leaves the order of its additions unspecified, and C2's intrinsic and the
 * Java fallback do add in different orders, so horizontal sums go through {@link #sum(FloatVector)},
 * a fixed butterfly of lanewise additions that every execution mode rounds alike.
 */
final class VectorMath {

    private static final VectorShuffle<Float> SWAP_1 = VectorShuffle.fromOp(FLOATS, i -> i ^ 1);
    private static final VectorShuffle<Float> SWAP_2 = VectorShuffle.fromOp(FLOATS, i -> (i ^ 2) % LANES);
    private static final VectorShuffle<Float> SWAP_4 = VectorShuffle.fromOp(FLOATS, i -> (i ^ 4) % LANES);
    private static final VectorShuffle<Float> SWAP_8 = VectorShuffle.fromOp(FLOATS, i -> (i ^ 8) % LANES);

    /** Below this, exp(x) (about 1.8e-35) adds nothing a softmax sum could notice, and 2^n stays normal. */
    private static final float EXP_FLOOR = -80f;
    private static final float LOG2_E = 1.44269504f;
    /** ln 2 split in two so that n * LN2_HIGH is exact for the |n| <= 126 that occur. */
    private static final float LN2_HIGH = 0.693145752f;
    private static final float LN2_LOW = 1.42860677e-6f;
    /** 1.5 * 2^23: adding it rounds a float of magnitude below 2^22 to an integer, held in the low mantissa bits. */
    private static final float ROUNDER = 12582912f;

    private VectorMath() {
    }

    /**
     * e^x lane by lane for x <= 0 (softmax numerators), from basic arithmetic only: x = n ln2 + r with
     * |r| <= ln2/2, e^r by its Taylor series to degree 7 (truncation below 1e-8 relative), times 2^n by
     * adding n to the exponent bits. Within a few ulps of {@code Math.exp}; inputs below -80 give
     * e^-80. Unlike the Vector API's {@code EXP} (an SVML call once compiled, {@code Math.exp} per lane
     * before), every execution mode rounds this alike, so results never depend on JIT state.
     */
    static FloatVector expNonPositive(FloatVector x) {
        // Constants broadcast in place: a helper returning a vector, where C2 did not inline it into a large
        // caller, returned it boxed (2.8 GB of garbage in a Qwen2-0.5B benchmark's prompt attention).
        x = x.max(EXP_FLOOR);
        FloatVector shifted = x.fma(LOG2_E, ROUNDER);
        FloatVector n = shifted.sub(ROUNDER);
        FloatVector r = n.fma(FloatVector.broadcast(FLOATS, -LN2_HIGH), x);
        r = n.fma(FloatVector.broadcast(FLOATS, -LN2_LOW), r);
        FloatVector p = r.fma(1f / 5040, 1f / 720);
        p = p.fma(r, FloatVector.broadcast(FLOATS, 1f / 120));
        p = p.fma(r, FloatVector.broadcast(FLOATS, 1f / 24));
        p = p.fma(r, FloatVector.broadcast(FLOATS, 1f / 6));
        p = p.fma(r, FloatVector.broadcast(FLOATS, 0.5f));
        p = p.fma(r, FloatVector.broadcast(FLOATS, 1f));
        p = p.fma(r, FloatVector.broadcast(FLOATS, 1f));
        IntVector exponent = shifted.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUNDER))
                .lanewise(VectorOperators.LSHL, 23);
        return p.reinterpretAsInts().add(exponent).reinterpretAsFloats();
    }

    /** Below this magnitude tanh takes its odd Taylor series, which keeps its relative precision near 0. */
    private static final float TANH_SERIES_LIMIT = 0.0625f;

    /**
     * tanh lane by lane from {@link #expNonPositive}: tanh|x| = (1 - e) / (1 + e) with e = e^(-2|x|),
     * the sign put back, and x - x^3/3 + 2x^5/15 for |x| below 1/16 (where 1 - e would cancel); within a
     * few ulps of {@code Math.tanh} near 0 and within 1e-7 absolute everywhere, rounded alike in every
     * execution mode.
     */
    static FloatVector tanh(FloatVector x) {
        FloatVector a = x.abs();
        FloatVector e = expNonPositive(a.mul(-2f));
        FloatVector large = FloatVector.broadcast(FLOATS, 1f).sub(e).div(FloatVector.broadcast(FLOATS, 1f).add(e));
        FloatVector x2 = x.mul(x);
        FloatVector series = x2.fma(2f / 15, -1f / 3).fma(x2, FloatVector.broadcast(FLOATS, 1f)).mul(a);
        FloatVector magnitude = large.blend(series, a.compare(VectorOperators.LT, TANH_SERIES_LIMIT));
        // copy the sign of x onto the magnitude
        IntVector sign = x.reinterpretAsInts().and(0x8000_0000);
        return magnitude.reinterpretAsInts().or(sign).reinterpretAsFloats();
    }

    /** GELU in its tanh form, 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), lane by lane. */
    static FloatVector gelu(FloatVector x) {
        FloatVector inner = x.mul(x).fma(0.044715f * 0.7978845608f, 0.7978845608f).mul(x);
        return x.mul(0.5f).mul(tanh(inner).add(1f));
    }

    /**
     * As {@link #softmaxNumerators(float[], int, int, float)}, with each scaled score first soft-capped
     * to {@code softCap * tanh(score / softCap)} when {@code softCap} is positive.
     */
    static float softmaxNumerators(float[] s, int from, int count, float scale, float softCap) {
        if (softCap == 0) {
            return softmaxNumerators(s, from, count, scale);
        }
        capScores(s, from, count, scale, softCap);
        return softmaxNumerators(s, from, count, 1f);
    }

    /** s = cap * tanh(scale * s / cap) in place, through the vector code for every element. */
    private static void capScores(float[] s, int from, int count, float scale, float cap) {
        int end = from + count;
        int i = from;
        int bound = from + FLOATS.loopBound(count);
        float inner = scale / cap;
        for (; i < bound; i += LANES) {
            tanh(FloatVector.fromArray(FLOATS, s, i).mul(inner)).mul(cap).intoArray(s, i);
        }
        if (i < end) {
            float[] tail = new float[LANES];
            System.arraycopy(s, i, tail, 0, end - i);
            tanh(FloatVector.fromArray(FLOATS, tail, 0).mul(inner)).mul(cap).intoArray(tail, 0);
            System.arraycopy(tail, 0, s, i, end - i);
        }
    }

    /**
     * Turns raw attention scores {@code s[from .. from + count)} into softmax numerators in place: each
     * is scaled by {@code scale}, then replaced by e^(score - max). Returns the sum of the numerators,
     * added in a fixed order (lanewise, then the fixed horizontal sum, then the tail), so the result does
     * not depend on where the call runs.
     */
    static float softmaxNumerators(float[] s, int from, int count, float scale) {
        int end = from + count;
        int bound = from + FLOATS.loopBound(count);
        FloatVector maxV = FloatVector.broadcast(FLOATS, Float.NEGATIVE_INFINITY);
        int i = from;
        for (; i < bound; i += LANES) {
            FloatVector v = FloatVector.fromArray(FLOATS, s, i).mul(scale);
            v.intoArray(s, i);
            maxV = maxV.max(v);
        }
        float max = maxV.reduceLanes(VectorOperators.MAX);
        for (; i < end; i++) {
            s[i] *= scale;
            max = Math.max(max, s[i]);
        }
        FloatVector sumV = FloatVector.zero(FLOATS);
        i = from;
        for (; i < bound; i += LANES) {
            FloatVector e = expNonPositive(FloatVector.fromArray(FLOATS, s, i).sub(max));
            e.intoArray(s, i);
            sumV = sumV.add(e);
        }
        float sum = sum(sumV);
        if (i < end) {
            // The tail through the same vector code, so every numerator rounds alike wherever it sits.
            float[] tail = new float[LANES];
            System.arraycopy(s, i, tail, 0, end - i);
            FloatVector e = expNonPositive(FloatVector.fromArray(FLOATS, tail, 0).sub(max));
            e.intoArray(tail, 0);
            for (int j = 0; j < end - i; j++) {
                s[i + j] = tail[j];
                sum += tail[j];
            }
        }
        return sum;
    }

    /** The sum of all lanes, added in a fixed order. */
    static float sum(FloatVector v) {
        if (LANES > 16 || Integer.bitCount(LANES) != 1) {
            float s = 0;
            for (float lane : v.toArray()) {
                s += lane;
            }
            return s;
        }
        if (LANES >= 16) {
            v = v.add(v.rearrange(SWAP_8));
        }
        if (LANES >= 8) {
            v = v.add(v.rearrange(SWAP_4));
        }
        if (LANES >= 4) {
            v = v.add(v.rearrange(SWAP_2));
        }
        if (LANES >= 2) {
            v = v.add(v.rearrange(SWAP_1));
        }
        return v.lane(0);
    }

    /** Dot product of {@code n} floats at {@code aOff} in {@code a} and {@code bOff} in {@code b}. */
    static float dot(MemorySegment a, long aOff, MemorySegment b, long bOff, int n) {
        if (n < LANES) {
            // Narrower than a vector (small attention heads): a horizontal sum would cost more than the products.
            float sum = 0;
            for (int i = 0; i < n; i++) {
                long o = (long) i * Float.BYTES;
                sum += a.get(F32, aOff + o) * b.get(F32, bOff + o);
            }
            return sum;
        }
        FloatVector acc0 = FloatVector.zero(FLOATS);
        FloatVector acc1 = FloatVector.zero(FLOATS);
        int i = 0;
        // Two accumulators halve the FMA dependency chain of long rows.
        int pairBound = n - 2 * LANES + 1;
        for (; i < pairBound; i += 2 * LANES) {
            long o = (long) i * Float.BYTES;
            acc0 = FloatVector.fromMemorySegment(FLOATS, a, aOff + o, LE)
                    .fma(FloatVector.fromMemorySegment(FLOATS, b, bOff + o, LE), acc0);
            long o1 = o + (long) LANES * Float.BYTES;
            acc1 = FloatVector.fromMemorySegment(FLOATS, a, aOff + o1, LE)
                    .fma(FloatVector.fromMemorySegment(FLOATS, b, bOff + o1, LE), acc1);
        }
        int bound = FLOATS.loopBound(n);
        for (; i < bound; i += LANES) {
            long o = (long) i * Float.BYTES;
            acc0 = FloatVector.fromMemorySegment(FLOATS, a, aOff + o, LE)
                    .fma(FloatVector.fromMemorySegment(FLOATS, b, bOff + o, LE), acc0);
        }
        float sum = sum(acc0.add(acc1));
        for (; i < n; i++) {
            long o = (long) i * Float.BYTES;
            sum += a.get(F32, aOff + o) * b.get(F32, bOff + o);
        }
        return sum;
    }

    /** Sum of squares of {@code n} floats at {@code off}. */
    static float sumOfSquares(MemorySegment a, long off, int n) {
        FloatVector acc = FloatVector.zero(FLOATS);
        int i = 0;
        int bound = FLOATS.loopBound(n);
        for (; i < bound; i += LANES) {
            FloatVector x = FloatVector.fromMemorySegment(FLOATS, a, off + (long) i * Float.BYTES, LE);
            acc = x.fma(x, acc);
        }
        float sum = sum(acc);
        for (; i < n; i++) {
            float x = a.get(F32, off + (long) i * Float.BYTES);
            sum += x * x;
        }
        return sum;
    }

    /** acc[0..n) += p * row[0..n) for the floats of {@code row} at {@code off}. */
    static void addScaled(float[] acc, float p, MemorySegment row, long off, int n) {
        FloatVector pv = FloatVector.broadcast(FLOATS, p);
        int i = 0;
        int bound = FLOATS.loopBound(n);
        for (; i < bound; i += LANES) {
            FloatVector r = FloatVector.fromMemorySegment(FLOATS, row, off + (long) i * Float.BYTES, LE);
            r.fma(pv, FloatVector.fromArray(FLOATS, acc, i)).intoArray(acc, i);
        }
        for (; i < n; i++) {
            acc[i] += p * row.get(F32, off + (long) i * Float.BYTES);
        }
    }
}
