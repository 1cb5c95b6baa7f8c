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
 * VectorSpecs#LANES} int8 quants is therefore widened to float lanes ({@code B2F}), multiplied by the
 * block's F16 scale and FMA'd against the F32 activations. The weights stay 8-bit in memory, which is
 * what decode is bound by, and each widened weight vector serves four token rows in prefill.
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
                long x0 = t * xStride;
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
                        FloatVector wv = ((FloatVector) ByteVector.fromMemorySegment(BYTES, w, bOff + QUANTS + j, LE)
                                .convertShape(VectorOperators.B2F, FLOATS, 0)).mul(d);
                        long xo = xb + (long) j * Float.BYTES;
                        a0 = wv.fma(FloatVector.fromMemorySegment(FLOATS, x, x0 + xo, LE), a0);
                        a1 = wv.fma(FloatVector.fromMemorySegment(FLOATS, x, x1 + xo, LE), a1);
                        a2 = wv.fma(FloatVector.fromMemorySegment(FLOATS, x, x2 + xo, LE), a2);
                        a3 = wv.fma(FloatVector.fromMemorySegment(FLOATS, x, x3 + xo, LE), a3);
                    }
                }
                long outOff = ((long) t * n + r) * Float.BYTES;
                out.set(F32, outOff, a0.reduceLanes(VectorOperators.ADD));
                out.set(F32, outOff + outStride, a1.reduceLanes(VectorOperators.ADD));
                out.set(F32, outOff + 2 * outStride, a2.reduceLanes(VectorOperators.ADD));
                out.set(F32, outOff + 3 * outStride, a3.reduceLanes(VectorOperators.ADD));
            }
            for (; t < tokens; t++) {
                long x0 = t * xStride;
                FloatVector a0 = FloatVector.zero(FLOATS);
                for (int b = 0; b < blocks; b++) {
                    long bOff = rowOff + (long) b * Q8_BYTES;
                    FloatVector d = FloatVector.broadcast(FLOATS, QuantBlocks.scale(w, bOff));
                    long xb = x0 + (long) b * BLOCK * Float.BYTES;
                    for (int j = 0; j < BLOCK; j += LANES) {
                        FloatVector wv = ((FloatVector) ByteVector.fromMemorySegment(BYTES, w, bOff + QUANTS + j, LE)
                                .convertShape(VectorOperators.B2F, FLOATS, 0)).mul(d);
                        a0 = wv.fma(FloatVector.fromMemorySegment(FLOATS, x, xb + (long) j * Float.BYTES, LE), a0);
                    }
                }
                out.set(F32, ((long) t * n + r) * Float.BYTES, a0.reduceLanes(VectorOperators.ADD));
            }
        }
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
