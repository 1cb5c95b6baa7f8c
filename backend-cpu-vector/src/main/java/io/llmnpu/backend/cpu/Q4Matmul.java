package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.QuantBlocks.BLOCK;
import static io.llmnpu.backend.cpu.QuantBlocks.Q4_BYTES;
import static io.llmnpu.backend.cpu.QuantBlocks.QUANTS;
import static io.llmnpu.backend.cpu.VectorSpecs.BYTES;
import static io.llmnpu.backend.cpu.VectorSpecs.F32;
import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;
import static io.llmnpu.backend.cpu.VectorSpecs.INTS;
import static io.llmnpu.backend.cpu.VectorSpecs.LANES;
import static io.llmnpu.backend.cpu.VectorSpecs.LE;
import static io.llmnpu.backend.cpu.VectorSpecs.QUANTIZED_VECTORS;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Linear over Q4_0 weights, computed block by block from the weight memory with the strategy of
 * {@link Q8Matmul}: the quant bytes are widened to int lanes, where the nibbles are split (the low
 * nibble of byte j is value j, the high nibble value j + 16; x86 has no byte shifts, so splitting them
 * as bytes costs more) and offset by -8, then converted to float lanes and FMA'd against the F32
 * activations, one block partial sum scaled per block for one token row, each scaled weight vector
 * shared by four token rows otherwise.
 */
final class Q4Matmul implements MatmulRows {

    private static final int HALF = BLOCK / 2;
    private static final long HIGH_OFFSET = (long) HALF * Float.BYTES;

    @Override
    public void compute(MemorySegment w, MemorySegment x, MemorySegment out, int tokens, int k, int n,
                        int from, int to) {
        if (QUANTIZED_VECTORS) {
            vectorRows(w, x, out, tokens, k, n, from, to);
        } else {
            scalarRows(w, x, out, tokens, k, n, from, to);
        }
    }

    static void vectorRows(MemorySegment w, MemorySegment x, MemorySegment out, int tokens, int k, int n,
                           int from, int to) {
        int blocks = k / BLOCK;
        long xStride = (long) k * Float.BYTES;
        long outStride = (long) n * Float.BYTES;
        long rowBytes = (long) blocks * Q4_BYTES;
        int r = from;
        if (tokens < 4) {
            for (; r + 2 <= to; r += 2) {
                for (int t = 0; t < tokens; t++) {
                    dot1Rows2(w, r * rowBytes, rowBytes, blocks, x, t * xStride, out,
                            ((long) t * n + r) * Float.BYTES);
                }
            }
        }
        for (; r < to; r++) {
            long rowOff = r * rowBytes;
            int t = 0;
            for (; t + 4 <= tokens; t += 4) {
                dot4(w, rowOff, blocks, x, t * xStride, xStride, out, ((long) t * n + r) * Float.BYTES, outStride);
            }
            for (; t < tokens; t++) {
                out.set(F32, ((long) t * n + r) * Float.BYTES, dot1(w, rowOff, rowBytes, blocks, x, t * xStride));
            }
        }
    }

    /** The quants as ints, one per float lane: x86 has no byte shifts, so the nibbles are split as ints. */
    private static IntVector quants(MemorySegment w, long off) {
        return (IntVector) ByteVector.fromMemorySegment(BYTES, w, off, LE).convertShape(VectorOperators.B2I, INTS, 0);
    }

    private static FloatVector low(IntVector q) {
        return (FloatVector) q.and(0x0F).sub(8).convert(VectorOperators.I2F, 0);
    }

    private static FloatVector high(IntVector q) {
        return (FloatVector) q.lanewise(VectorOperators.ASHR, 4).and(0x0F).sub(8).convert(VectorOperators.I2F, 0);
    }

    /** One weight row against one token row, the row read through its own slice (fewer bounds checks). */
    private static float dot1(MemorySegment w, long rowOff, long rowBytes, int blocks, MemorySegment x, long x0) {
        MemorySegment row = w.asSlice(rowOff, rowBytes);
        FloatVector acc = FloatVector.zero(FLOATS);
        for (int b = 0; b < blocks; b++) {
            long bOff = (long) b * Q4_BYTES;
            long xb = x0 + (long) b * BLOCK * Float.BYTES;
            FloatVector blockSum = FloatVector.zero(FLOATS);
            for (int j = 0; j < HALF; j += LANES) {
                IntVector q = quants(row, bOff + QUANTS + j);
                long xo = xb + (long) j * Float.BYTES;
                blockSum = low(q).fma(FloatVector.fromMemorySegment(FLOATS, x, xo, LE), blockSum);
                blockSum = high(q).fma(FloatVector.fromMemorySegment(FLOATS, x, xo + HIGH_OFFSET, LE), blockSum);
            }
            acc = blockSum.fma(FloatVector.broadcast(FLOATS, QuantBlocks.scale(row, bOff)), acc);
        }
        return VectorMath.sum(acc);
    }

    /**
     * {@link #dot1} of two consecutive weight rows against one token row, written to two consecutive
     * outputs: the arithmetic of dot1 for each row (so the grouping of rows, which follows the thread
     * count, cannot change a result), with two weight streams in flight to keep decode nearer DRAM
     * bandwidth and each activation vector loaded once for both rows. (Four rows would exceed the size
     * up to which C2 inlines every Vector API call of the method, and vectors would be boxed.)
     */
    private static void dot1Rows2(MemorySegment w, long rowOff, long rowBytes, int blocks, MemorySegment x, long x0,
                                  MemorySegment out, long outOff) {
        MemorySegment r0 = w.asSlice(rowOff, rowBytes);
        MemorySegment r1 = w.asSlice(rowOff + rowBytes, rowBytes);
        FloatVector a0 = FloatVector.zero(FLOATS);
        FloatVector a1 = FloatVector.zero(FLOATS);
        for (int b = 0; b < blocks; b++) {
            long bOff = (long) b * Q4_BYTES;
            long xb = x0 + (long) b * BLOCK * Float.BYTES;
            FloatVector s0 = FloatVector.zero(FLOATS);
            FloatVector s1 = FloatVector.zero(FLOATS);
            for (int j = 0; j < HALF; j += LANES) {
                long xo = xb + (long) j * Float.BYTES;
                FloatVector lo = FloatVector.fromMemorySegment(FLOATS, x, xo, LE);
                FloatVector hi = FloatVector.fromMemorySegment(FLOATS, x, xo + HIGH_OFFSET, LE);
                IntVector q0 = quants(r0, bOff + QUANTS + j);
                IntVector q1 = quants(r1, bOff + QUANTS + j);
                s0 = high(q0).fma(hi, low(q0).fma(lo, s0));
                s1 = high(q1).fma(hi, low(q1).fma(lo, s1));
            }
            a0 = s0.fma(FloatVector.broadcast(FLOATS, QuantBlocks.scale(r0, bOff)), a0);
            a1 = s1.fma(FloatVector.broadcast(FLOATS, QuantBlocks.scale(r1, bOff)), a1);
        }
        out.set(F32, outOff, VectorMath.sum(a0));
        out.set(F32, outOff + Float.BYTES, VectorMath.sum(a1));
    }

    private static void dot4(MemorySegment w, long rowOff, int blocks, MemorySegment x, long x0, long xStride,
                             MemorySegment out, long outOff, long outStride) {
        long x1 = x0 + xStride;
        long x2 = x1 + xStride;
        long x3 = x2 + xStride;
        FloatVector a0 = FloatVector.zero(FLOATS);
        FloatVector a1 = FloatVector.zero(FLOATS);
        FloatVector a2 = FloatVector.zero(FLOATS);
        FloatVector a3 = FloatVector.zero(FLOATS);
        for (int b = 0; b < blocks; b++) {
            long bOff = rowOff + (long) b * Q4_BYTES;
            FloatVector d = FloatVector.broadcast(FLOATS, QuantBlocks.scale(w, bOff));
            long xb = (long) b * BLOCK * Float.BYTES;
            for (int j = 0; j < HALF; j += LANES) {
                IntVector q = quants(w, bOff + QUANTS + j);
                FloatVector lo = low(q).mul(d);
                FloatVector hi = high(q).mul(d);
                long lo0 = xb + (long) j * Float.BYTES;
                long hi0 = lo0 + HIGH_OFFSET;
                a0 = lo.fma(FloatVector.fromMemorySegment(FLOATS, x, x0 + lo0, LE), a0);
                a1 = lo.fma(FloatVector.fromMemorySegment(FLOATS, x, x1 + lo0, LE), a1);
                a2 = lo.fma(FloatVector.fromMemorySegment(FLOATS, x, x2 + lo0, LE), a2);
                a3 = lo.fma(FloatVector.fromMemorySegment(FLOATS, x, x3 + lo0, LE), a3);
                a0 = hi.fma(FloatVector.fromMemorySegment(FLOATS, x, x0 + hi0, LE), a0);
                a1 = hi.fma(FloatVector.fromMemorySegment(FLOATS, x, x1 + hi0, LE), a1);
                a2 = hi.fma(FloatVector.fromMemorySegment(FLOATS, x, x2 + hi0, LE), a2);
                a3 = hi.fma(FloatVector.fromMemorySegment(FLOATS, x, x3 + hi0, LE), a3);
            }
        }
        out.set(F32, outOff, VectorMath.sum(a0));
        out.set(F32, outOff + outStride, VectorMath.sum(a1));
        out.set(F32, outOff + 2 * outStride, VectorMath.sum(a2));
        out.set(F32, outOff + 3 * outStride, VectorMath.sum(a3));
    }

    /** The same product without vectors, for CPUs whose float vectors are not 8 or 16 lanes wide. */
    static void scalarRows(MemorySegment w, MemorySegment x, MemorySegment out, int tokens, int k, int n,
                           int from, int to) {
        int blocks = k / BLOCK;
        for (int r = from; r < to; r++) {
            long rowOff = (long) r * blocks * Q4_BYTES;
            for (int t = 0; t < tokens; t++) {
                long x0 = (long) t * k * Float.BYTES;
                float sum = 0;
                for (int b = 0; b < blocks; b++) {
                    long bOff = rowOff + (long) b * Q4_BYTES;
                    long xb = x0 + (long) b * BLOCK * Float.BYTES;
                    float blockSum = 0;
                    for (int j = 0; j < HALF; j++) {
                        int q = w.get(ValueLayout.JAVA_BYTE, bOff + QUANTS + j) & 0xFF;
                        blockSum += ((q & 0x0F) - 8) * x.get(F32, xb + (long) j * Float.BYTES)
                                + ((q >>> 4) - 8) * x.get(F32, xb + (long) (j + HALF) * Float.BYTES);
                    }
                    sum += blockSum * QuantBlocks.scale(w, bOff);
                }
                out.set(F32, ((long) t * n + r) * Float.BYTES, sum);
            }
        }
    }
}
