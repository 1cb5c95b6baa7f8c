package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.VectorSpecs.F32;
import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;
import static io.llmnpu.backend.cpu.VectorSpecs.LANES;
import static io.llmnpu.backend.cpu.VectorSpecs.LE;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/** Small vector building blocks shared by the kernels. Offsets are in bytes, counts in floats. */
final class VectorMath {

    private VectorMath() {
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
        float sum = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
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
        float sum = acc.reduceLanes(VectorOperators.ADD);
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
