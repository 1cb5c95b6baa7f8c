package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.VectorSpecs.F32;
import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;
import static io.llmnpu.backend.cpu.VectorSpecs.LANES;
import static io.llmnpu.backend.cpu.VectorSpecs.LE;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
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

    private VectorMath() {
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
