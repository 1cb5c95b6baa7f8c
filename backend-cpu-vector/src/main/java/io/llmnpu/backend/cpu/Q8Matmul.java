package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.QuantBlocks.BLOCK;
import static io.llmnpu.backend.cpu.QuantBlocks.Q8_BYTES;
import static io.llmnpu.backend.cpu.QuantBlocks.QUANTS;
import static io.llmnpu.backend.cpu.VectorSpecs.BYTES;
import static io.llmnpu.backend.cpu.VectorSpecs.F32;
import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;
import static io.llmnpu.backend.cpu.VectorSpecs.LANES;
import static io.llmnpu.backend.cpu.VectorSpecs.LE;
import static io.llmnpu.backend.cpu.VectorSpecs.QUANTIZED_VECTORS;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Linear over Q8_0 weights, computed block by block from the weight memory.
 *
 * <p>Kernel strategy: the Vector API has no int8 dot-product instruction (it cannot reach VNNI), so
 * quantizing the activations to int8 and multiplying integers gains nothing here; int8 weights times
 * F32 activations measured about 52 GFLOP/s for a matrix-vector product. Each group of {@link
 * VectorSpecs#LANES} int8 quants is therefore widened to float lanes ({@code B2F}) inside the dot
 * product and FMA'd against the F32 activations. The weights stay 8-bit in memory, which is what decode
 * is bound by. For one token row the block's partial sum is scaled once per block; for four token rows
 * each widened weight vector is scaled once and then serves all four.
 *
 * <p>The four-row and one-row loops are separate small methods so that C2 compiles each within its
 * inlining budget and intrinsifies every Vector API call in them.
 */
final class Q8Matmul implements MatmulRows {

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
        long rowBytes = (long) blocks * Q8_BYTES;
        int r = from;
        if (tokens < 4) {
            for (; r + 4 <= to; r += 4) {
                for (int t = 0; t < tokens; t++) {
                    dot1Rows4(w, r * rowBytes, rowBytes, blocks, x, t * xStride, out,
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

    private static FloatVector widen(MemorySegment w, long quantsOff) {
        return (FloatVector) ByteVector.fromMemorySegment(BYTES, w, quantsOff, LE)
                .convertShape(VectorOperators.B2F, FLOATS, 0);
    }

    /**
     * One weight row against one token row. The row is read through its own slice, which lets C2 drop
     * most bounds checks; the first vector of a block is multiplied rather than added to a zero.
     */
    private static float dot1(MemorySegment w, long rowOff, long rowBytes, int blocks, MemorySegment x, long x0) {
        MemorySegment row = w.asSlice(rowOff, rowBytes);
        FloatVector acc = FloatVector.zero(FLOATS);
        for (int b = 0; b < blocks; b++) {
            long bOff = (long) b * Q8_BYTES;
            long xb = x0 + (long) b * BLOCK * Float.BYTES;
            FloatVector blockSum = widen(row, bOff + QUANTS).mul(FloatVector.fromMemorySegment(FLOATS, x, xb, LE));
            for (int j = LANES; j < BLOCK; j += LANES) {
                blockSum = widen(row, bOff + QUANTS + j)
                        .fma(FloatVector.fromMemorySegment(FLOATS, x, xb + (long) j * Float.BYTES, LE), blockSum);
            }
            acc = blockSum.fma(FloatVector.broadcast(FLOATS, QuantBlocks.scale(row, bOff)), acc);
        }
        return VectorMath.sum(acc);
    }

    /**
     * {@link #dot1} of four consecutive weight rows against one token row, written to four consecutive
     * outputs. Each row gets exactly the arithmetic of dot1, so results do not depend on how rows are
     * grouped (which follows the thread count); but four weight streams are in flight at once, which
     * keeps more memory requests outstanding when decode streams weights from DRAM, and each activation
     * vector is loaded once for four rows.
     */
    private static void dot1Rows4(MemorySegment w, long rowOff, long rowBytes, int blocks, MemorySegment x, long x0,
                                  MemorySegment out, long outOff) {
        MemorySegment r0 = w.asSlice(rowOff, rowBytes);
        MemorySegment r1 = w.asSlice(rowOff + rowBytes, rowBytes);
        MemorySegment r2 = w.asSlice(rowOff + 2 * rowBytes, rowBytes);
        MemorySegment r3 = w.asSlice(rowOff + 3 * rowBytes, rowBytes);
        FloatVector a0 = FloatVector.zero(FLOATS);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        for (int b = 0; b < blocks; b++) {
            long bOff = (long) b * Q8_BYTES;
            long q = bOff + QUANTS;
            long xb = x0 + (long) b * BLOCK * Float.BYTES;
            FloatVector xv = FloatVector.fromMemorySegment(FLOATS, x, xb, LE);
            FloatVector s0 = widen(r0, q).mul(xv);
            FloatVector s1 = widen(r1, q).mul(xv);
            FloatVector s2 = widen(r2, q).mul(xv);
            FloatVector s3 = widen(r3, q).mul(xv);
            for (int j = LANES; j < BLOCK; j += LANES) {
                xv = FloatVector.fromMemorySegment(FLOATS, x, xb + (long) j * Float.BYTES, LE);
                s0 = widen(r0, q + j).fma(xv, s0);
                s1 = widen(r1, q + j).fma(xv, s1);
                s2 = widen(r2, q + j).fma(xv, s2);
                s3 = widen(r3, q + j).fma(xv, s3);
            }
            a0 = s0.fma(FloatVector.broadcast(FLOATS, QuantBlocks.scale(r0, bOff)), a0);
            a1 = s1.fma(FloatVector.broadcast(FLOATS, QuantBlocks.scale(r1, bOff)), a1);
            a2 = s2.fma(FloatVector.broadcast(FLOATS, QuantBlocks.scale(r2, bOff)), a2);
            a3 = s3.fma(FloatVector.broadcast(FLOATS, QuantBlocks.scale(r3, bOff)), a3);
        }
        out.set(F32, outOff, VectorMath.sum(a0));
        out.set(F32, outOff + Float.BYTES, VectorMath.sum(a1));
        out.set(F32, outOff + 2 * Float.BYTES, VectorMath.sum(a2));
        out.set(F32, outOff + 3 * Float.BYTES, VectorMath.sum(a3));
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
            long bOff = rowOff + (long) b * Q8_BYTES;
            FloatVector d = FloatVector.broadcast(FLOATS, QuantBlocks.scale(w, bOff));
            long xb = (long) b * BLOCK * Float.BYTES;
            for (int j = 0; j < BLOCK; j += LANES) {
                FloatVector wv = widen(w, bOff + QUANTS + j).mul(d);
                long xo = xb + (long) j * Float.BYTES;
                a0 = wv.fma(FloatVector.fromMemorySegment(FLOATS, x, x0 + xo, LE), a0);
                a1 = wv.fma(FloatVector.fromMemorySegment(FLOATS, x, x1 + xo, LE), a1);
                a2 = wv.fma(FloatVector.fromMemorySegment(FLOATS, x, x2 + xo, LE), a2);
                a3 = wv.fma(FloatVector.fromMemorySegment(FLOATS, x, x3 + xo, LE), a3);
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
            long rowOff = (long) r * blocks * Q8_BYTES;
            for (int t = 0; t < tokens; t++) {
                long x0 = (long) t * k * Float.BYTES;
                float sum = 0;
                for (int b = 0; b < blocks; b++) {
                    long bOff = rowOff + (long) b * Q8_BYTES;
                    float blockSum = 0;
                    for (int j = 0; j < BLOCK; j++) {
                        blockSum += w.get(ValueLayout.JAVA_BYTE, bOff + QUANTS + j)
                                * x.get(F32, x0 + ((long) b * BLOCK + j) * Float.BYTES);
                    }
                    sum += blockSum * QuantBlocks.scale(w, bOff);
                }
                out.set(F32, ((long) t * n + r) * Float.BYTES, sum);
            }
        }
    }
}
