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
        for (int r = from; r < to; r++) {
            long rowOff = (long) r * blocks * Q8_BYTES;
            int t = 0;
            for (; t + 4 <= tokens; t += 4) {
                dot4(w, rowOff, blocks, x, t * xStride, xStride, out, ((long) t * n + r) * Float.BYTES, outStride);
            }
            for (; t < tokens; t++) {
                out.set(F32, ((long) t * n + r) * Float.BYTES, dot1(w, rowOff, blocks, x, t * xStride));
            }
        }
    }

    private static FloatVector widen(MemorySegment w, long quantsOff) {
        return (FloatVector) ByteVector.fromMemorySegment(BYTES, w, quantsOff, LE)
                .convertShape(VectorOperators.B2F, FLOATS, 0);
    }

    private static float dot1(MemorySegment w, long rowOff, int blocks, MemorySegment x, long x0) {
        FloatVector acc = FloatVector.zero(FLOATS);
        for (int b = 0; b < blocks; b++) {
            long bOff = rowOff + (long) b * Q8_BYTES;
            long xb = x0 + (long) b * BLOCK * Float.BYTES;
            FloatVector blockSum = FloatVector.zero(FLOATS);
            for (int j = 0; j < BLOCK; j += LANES) {
                blockSum = widen(w, bOff + QUANTS + j)
                        .fma(FloatVector.fromMemorySegment(FLOATS, x, xb + (long) j * Float.BYTES, LE), blockSum);
            }
            acc = blockSum.fma(FloatVector.broadcast(FLOATS, QuantBlocks.scale(w, bOff)), acc);
        }
        return VectorMath.sum(acc);
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
