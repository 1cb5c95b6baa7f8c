package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.VectorSpecs.BYTES;
import static io.llmnpu.backend.cpu.VectorSpecs.F32;
import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;
import static io.llmnpu.backend.cpu.VectorSpecs.INTS;
import static io.llmnpu.backend.cpu.VectorSpecs.LANES;
import static io.llmnpu.backend.cpu.VectorSpecs.QUANTIZED_VECTORS;

import io.llmnpu.api.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Linear over Q4_K or Q5_K weights for a few token rows (decode). Each weight row is copied to a
 * byte[] (and the token rows to a float[]) first: vector loads from arrays compile to far less code
 * than loads from memory segments, which keeps the loop within C2's inlining limits, and it measured
 * twice as fast. value = (d * scale) * q - dmin * min, so a row's dot product with x is
 * {@code sum_s d scale_s (q_s . x_s) - dmin sum_s min_s sum(x_s)} over its 32-value sub-blocks s. The
 * sums of x per sub-block are the same for every weight row, so they are taken once per token; the
 * quant dot products run on int lanes (nibbles and fifth bits split there, then converted to floats and
 * FMA'd with x), each sub-block's partial vector scaled once. With four or more token rows a row is
 * widened once instead ({@link KQuantRows}) and shared by the tokens.
 */
final class Q4KMatmul implements MatmulRows {
    private static final int QK = 256;
    private static final int SUB = 32;

    private final boolean five;
    private final DType type;
    private final WidenedMatmul widened;

    Q4KMatmul(boolean five) {
        this.five = five;
        this.type = five ? DType.Q5_K : DType.Q4_K;
        this.widened = new WidenedMatmul(KQuantRows.of(type));
    }

    @Override
    public void compute(MemorySegment w, MemorySegment x, MemorySegment out, int tokens, int k, int n,
                        int from, int to) {
        if (tokens >= 4 || !QUANTIZED_VECTORS) {
            widened.compute(w, x, out, tokens, k, n, from, to);
            return;
        }
        int blocks = k / QK;
        long rowBytes = (long) blocks * type.blockBytes();
        float[] xSums = new float[tokens * (k / SUB)];
        float[] xs = new float[tokens * k];
        for (int t = 0; t < tokens; t++) {
            MemorySegment.copy(x, F32, (long) t * k * Float.BYTES, xs, t * k, k);
            subBlockSums(xs, t * k, k, xSums, t * (k / SUB));
        }
        byte[] row = new byte[Math.toIntExact(rowBytes)];
        for (int r = from; r < to; r++) {
            MemorySegment.copy(w, ValueLayout.JAVA_BYTE, r * rowBytes, row, 0, row.length);
            for (int t = 0; t < tokens; t++) {
                float dot = five ? dot(row, blocks, xs, t * k, xSums, t * (k / SUB), true)
                        : dot(row, blocks, xs, t * k, xSums, t * (k / SUB), false);
                out.set(F32, ((long) t * n + r) * Float.BYTES, dot);
            }
        }
    }

    /** sums[so + s] = x[x0 + 32 s] + ... + x[x0 + 32 s + 31]. */
    private static void subBlockSums(float[] x, int x0, int k, float[] sums, int so) {
        for (int s = 0; s < k / SUB; s++) {
            FloatVector acc = FloatVector.zero(FLOATS);
            for (int j = 0; j < SUB; j += LANES) {
                acc = acc.add(FloatVector.fromArray(FLOATS, x, x0 + SUB * s + j));
            }
            sums[so + s] = VectorMath.sum(acc);
        }
    }

    private static IntVector quants(byte[] row, int off) {
        return (IntVector) ByteVector.fromArray(BYTES, row, off).convertShape(VectorOperators.B2I, INTS, 0);
    }

    private static FloatVector floats(IntVector q) {
        return (FloatVector) q.convert(VectorOperators.I2F, 0);
    }

    private static float dot(byte[] row, int blocks, float[] x, int x0, float[] xSums, int so, boolean five) {
        int blockBytes = five ? 176 : 144;
        int quantsAt = five ? 48 : 16;
        FloatVector acc = FloatVector.zero(FLOATS);
        float mins = 0;
        for (int b = 0; b < blocks; b++) {
            int bOff = b * blockBytes;
            float d = KQuantRows.half(row, bOff);
            float dMin = KQuantRows.half(row, bOff + 2);
            for (int p = 0; p < 4; p++) {
                FloatVector s0 = FloatVector.zero(FLOATS);
                FloatVector s1 = FloatVector.zero(FLOATS);
                int xo = x0 + b * QK + 64 * p;
                for (int j = 0; j < SUB; j += LANES) {
                    IntVector q = quants(row, bOff + quantsAt + 32 * p + j);
                    IntVector lo = q.and(0x0F);
                    IntVector hi = q.lanewise(VectorOperators.LSHR, 4).and(0x0F);
                    if (five) {
                        IntVector h = quants(row, bOff + 16 + j);
                        lo = lo.or(h.lanewise(VectorOperators.LSHR, 2 * p).and(1).lanewise(VectorOperators.LSHL, 4));
                        hi = hi.or(h.lanewise(VectorOperators.LSHR, 2 * p + 1).and(1).lanewise(VectorOperators.LSHL, 4));
                    }
                    s0 = floats(lo).fma(FloatVector.fromArray(FLOATS, x, xo + j), s0);
                    s1 = floats(hi).fma(FloatVector.fromArray(FLOATS, x, xo + SUB + j), s1);
                }
                acc = s0.fma(FloatVector.broadcast(FLOATS, d * KQuantRows.kScale(row, bOff + 4, 2 * p)), acc);
                acc = s1.fma(FloatVector.broadcast(FLOATS, d * KQuantRows.kScale(row, bOff + 4, 2 * p + 1)), acc);
                mins += dMin * (KQuantRows.kMin(row, bOff + 4, 2 * p) * xSums[so + 8 * b + 2 * p]
                        + KQuantRows.kMin(row, bOff + 4, 2 * p + 1) * xSums[so + 8 * b + 2 * p + 1]);
            }
        }
        return VectorMath.sum(acc) - mins;
    }
}
