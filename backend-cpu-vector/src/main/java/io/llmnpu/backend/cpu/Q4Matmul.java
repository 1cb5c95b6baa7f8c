package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.QuantBlocks.BLOCK;
import static io.llmnpu.backend.cpu.QuantBlocks.Q4_BYTES;
import static io.llmnpu.backend.cpu.QuantBlocks.QUANTS;
import static io.llmnpu.backend.cpu.VectorSpecs.BYTES;
import static io.llmnpu.backend.cpu.VectorSpecs.F32;
import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;
import static io.llmnpu.backend.cpu.VectorSpecs.LANES;
import static io.llmnpu.backend.cpu.VectorSpecs.LE;
import static io.llmnpu.backend.cpu.VectorSpecs.QUANTIZED_VECTORS;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Linear over Q4_0 weights, computed block by block from the weight memory with the same strategy as
 * {@link Q8Matmul}: nibbles are split (low nibble of byte j is value j, high nibble value j + 16),
 * offset by -8 in byte lanes, widened to float lanes, scaled by the block's F16 scale and FMA'd
 * against the F32 activations, four token rows per widened weight vector.
 */
final class Q4Matmul implements MatmulRows {

    private static final int HALF = BLOCK / 2;

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
        long highOff = (long) HALF * Float.BYTES;
        for (int r = from; r < to; r++) {
            long rowOff = (long) r * blocks * Q4_BYTES;
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
                    long bOff = rowOff + (long) b * Q4_BYTES;
                    FloatVector d = FloatVector.broadcast(FLOATS, QuantBlocks.scale(w, bOff));
                    long xb = (long) b * BLOCK * Float.BYTES;
                    for (int j = 0; j < HALF; j += LANES) {
                        ByteVector q = ByteVector.fromMemorySegment(BYTES, w, bOff + QUANTS + j, LE);
                        FloatVector lo = ((FloatVector) q.and((byte) 0x0F).sub((byte) 8)
                                .convertShape(VectorOperators.B2F, FLOATS, 0)).mul(d);
                        FloatVector hi = ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).sub((byte) 8)
                                .convertShape(VectorOperators.B2F, FLOATS, 0)).mul(d);
                        long lo0 = xb + (long) j * Float.BYTES;
                        long hi0 = lo0 + highOff;
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
                long outOff = ((long) t * n + r) * Float.BYTES;
                out.set(F32, outOff, a0.reduceLanes(VectorOperators.ADD));
                out.set(F32, outOff + outStride, a1.reduceLanes(VectorOperators.ADD));
                out.set(F32, outOff + 2 * outStride, a2.reduceLanes(VectorOperators.ADD));
                out.set(F32, outOff + 3 * outStride, a3.reduceLanes(VectorOperators.ADD));
            }
            for (; t < tokens; t++) {
                long x0 = t * xStride;
                FloatVector a0 = FloatVector.zero(FLOATS);
                FloatVector a1 = FloatVector.zero(FLOATS);
                for (int b = 0; b < blocks; b++) {
                    long bOff = rowOff + (long) b * Q4_BYTES;
                    FloatVector d = FloatVector.broadcast(FLOATS, QuantBlocks.scale(w, bOff));
                    long xb = x0 + (long) b * BLOCK * Float.BYTES;
                    for (int j = 0; j < HALF; j += LANES) {
                        ByteVector q = ByteVector.fromMemorySegment(BYTES, w, bOff + QUANTS + j, LE);
                        FloatVector lo = ((FloatVector) q.and((byte) 0x0F).sub((byte) 8)
                                .convertShape(VectorOperators.B2F, FLOATS, 0)).mul(d);
                        FloatVector hi = ((FloatVector) q.lanewise(VectorOperators.LSHR, 4).sub((byte) 8)
                                .convertShape(VectorOperators.B2F, FLOATS, 0)).mul(d);
                        long lo0 = xb + (long) j * Float.BYTES;
                        a0 = lo.fma(FloatVector.fromMemorySegment(FLOATS, x, lo0, LE), a0);
                        a1 = hi.fma(FloatVector.fromMemorySegment(FLOATS, x, lo0 + highOff, LE), a1);
                    }
                }
                out.set(F32, ((long) t * n + r) * Float.BYTES, a0.add(a1).reduceLanes(VectorOperators.ADD));
            }
        }
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
                        int q = w.get(java.lang.foreign.ValueLayout.JAVA_BYTE, bOff + QUANTS + j) & 0xFF;
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
