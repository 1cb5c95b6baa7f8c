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
 * Linear over Q6_K weights for a few token rows (decode). Each weight row is copied to a byte[] (and
 * the token rows to a float[]) first: vector loads from arrays compile to far less code than loads
 * from memory segments, which keeps the loop within C2's inlining limits so no vector is boxed. Then
 * for each LANES-wide run of a half-block the low-nibble bytes, the high-bit-pair bytes and the four
 * 6-bit quants they hold are assembled on int lanes, converted, multiplied by x and added into the
 * row's accumulator with their 16-value sub-block's scale {@code d * scale}. With four or more token
 * rows a row is widened once instead ({@link KQuantRows}) and shared by the tokens.
 */
final class Q6KMatmul implements MatmulRows {
    private static final int QK = 256;
    private static final int BLOCK_BYTES = 210;

    private final WidenedMatmul widened = new WidenedMatmul(KQuantRows.of(DType.Q6_K));

    @Override
    public void compute(MemorySegment w, MemorySegment x, MemorySegment out, int tokens, int k, int n,
                        int from, int to) {
        if (tokens >= 4 || !QUANTIZED_VECTORS) {
            widened.compute(w, x, out, tokens, k, n, from, to);
            return;
        }
        int blocks = k / QK;
        int rowBytes = blocks * BLOCK_BYTES;
        float[] xs = new float[tokens * k];
        MemorySegment.copy(x, F32, 0, xs, 0, tokens * k);
        byte[] row = new byte[rowBytes];
        for (int r = from; r < to; r++) {
            MemorySegment.copy(w, ValueLayout.JAVA_BYTE, (long) r * rowBytes, row, 0, rowBytes);
            for (int t = 0; t < tokens; t++) {
                out.set(F32, ((long) t * n + r) * Float.BYTES, dot(row, blocks, xs, t * k));
            }
        }
    }

    private static IntVector quants(byte[] row, int off) {
        return (IntVector) ByteVector.fromArray(BYTES, row, off).convertShape(VectorOperators.B2I, INTS, 0);
    }

    /** The 6-bit quant (low four bits from {@code low}, two high bits at {@code shift} of {@code high}), minus 32. */
    private static FloatVector quant(IntVector low, IntVector high, int shift) {
        return (FloatVector) low.and(0x0F)
                .or(high.lanewise(VectorOperators.LSHR, shift).and(3).lanewise(VectorOperators.LSHL, 4))
                .sub(32).convert(VectorOperators.I2F, 0);
    }

    private static FloatVector scale(float d, byte[] row, int at) {
        return FloatVector.broadcast(FLOATS, d * row[at]);
    }

    private static float dot(byte[] row, int blocks, float[] x, int x0) {
        FloatVector acc = FloatVector.zero(FLOATS);
        for (int b = 0; b < blocks; b++) {
            int bOff = b * BLOCK_BYTES;
            float d = Float.float16ToFloat((short) ((row[bOff + 208] & 0xFF) | (row[bOff + 209] & 0xFF) << 8));
            for (int h = 0; h < 2; h++) {
                int xh = x0 + b * QK + 128 * h;
                for (int j = 0; j < 32; j += LANES) {
                    // One quarter per pass (not four unrolled copies): the loop body stays small enough
                    // for C2 to inline every vector operation; the repeated loads hit L1.
                    for (int s = 0; s < 4; s++) {
                        IntVector low = quants(row, bOff + 64 * h + 32 * (s & 1) + j).lanewise(VectorOperators.LSHR, 4 * (s >> 1));
                        IntVector high = quants(row, bOff + 128 + 32 * h + j);
                        acc = quant(low, high, 2 * s).mul(FloatVector.fromArray(FLOATS, x, xh + 32 * s + j))
                                .fma(scale(d, row, bOff + 192 + 8 * h + 2 * s + j / 16), acc);
                    }
                }
            }
        }
        return VectorMath.sum(acc);
    }
}
