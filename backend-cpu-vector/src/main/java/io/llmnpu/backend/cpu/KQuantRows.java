package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.VectorSpecs.BYTES;
import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;
import static io.llmnpu.backend.cpu.VectorSpecs.INTS;
import static io.llmnpu.backend.cpu.VectorSpecs.LANES;
import static io.llmnpu.backend.cpu.VectorSpecs.QUANTIZED_VECTORS;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Dequantizer;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Widens rows of k-quant weights (super-blocks of 256 values: Q2_K, Q3_K, Q4_K, Q5_K, Q6_K; layouts on
 * {@link DType}) to F32 with byte vectors: each quant field is isolated with byte shifts and masks, a
 * vector of LANES quants is converted to floats and scaled by its sub-block's scale (and min). Every
 * sub-block of 16 or 32 values is a whole number of vectors, since LANES is 8 or 16, so one scale serves
 * a whole vector. Each value is computed with the float operations of {@link Dequantizer}
 * ({@code (d * scale) * q - dmin * min}), so the results are identical to it.
 *
 * <p>The row is first copied to a byte[]: vector loads from an array compile to far less code than
 * loads from a memory segment, which keeps each loop within C2's inlining limits (beyond them vectors
 * are boxed and the widening runs several times slower), and loops handle one quant field per pass
 * rather than unrolling all of them for the same reason.
 */
final class KQuantRows {
    static final int QK = 256;

    private KQuantRows() {
    }

    /** The row widener of a k-quant type. */
    static WeightRows of(DType dtype) {
        if (dtype != DType.Q2_K && dtype != DType.Q3_K && dtype != DType.Q4_K && dtype != DType.Q5_K
                && dtype != DType.Q6_K) {
            throw new IllegalArgumentException(dtype + " is not a k-quant type");
        }
        return new Widener(dtype);
    }

    /** Copies each row into its thread's byte[] (kept between rows, so no garbage per row) and widens it. */
    private static final class Widener implements WeightRows {
        private final DType type;
        private final ThreadLocal<byte[]> rowCopy = new ThreadLocal<>();

        Widener(DType type) {
            this.type = type;
        }

        @Override
        public void widen(MemorySegment w, int row, int k, float[] dst, int off) {
            long rowBytes = type.byteSize(k);
            if (!QUANTIZED_VECTORS) {
                Dequantizer.dequantize(type, w.asSlice(row * rowBytes, rowBytes), dst, off, k);
                return;
            }
            byte[] b = rowCopy.get();
            if (b == null || b.length < rowBytes) {
                b = new byte[Math.toIntExact(rowBytes)];
                rowCopy.set(b);
            }
            MemorySegment.copy(w, ValueLayout.JAVA_BYTE, row * rowBytes, b, 0, (int) rowBytes);
            switch (type) {
                case Q2_K -> widenQ2K(b, k, dst, off);
                case Q3_K -> widenQ3K(b, k, dst, off);
                case Q4_K -> widenQ45K(b, k, dst, off, false);
                case Q5_K -> widenQ45K(b, k, dst, off, true);
                default -> widenQ6K(b, k, dst, off);
            }
        }
    }

    static int u8(byte[] b, int at) {
        return b[at] & 0xFF;
    }

    /** The 6-bit scale of sub-block {@code i} of a Q4_K/Q5_K block whose 12 scale bytes start at {@code s}. */
    static int kScale(byte[] b, int s, int i) {
        return i < 4 ? u8(b, s + i) & 63 : (u8(b, s + i + 4) & 0x0F) | (u8(b, s + i - 4) >>> 6) << 4;
    }

    /** The 6-bit min of sub-block {@code i} of a Q4_K/Q5_K block whose 12 scale bytes start at {@code s}. */
    static int kMin(byte[] b, int s, int i) {
        return i < 4 ? u8(b, s + i + 4) & 63 : (u8(b, s + i + 4) >>> 4) | (u8(b, s + i) >>> 6) << 4;
    }

    static float half(byte[] b, int at) {
        return Float.float16ToFloat((short) (u8(b, at) | u8(b, at + 1) << 8));
    }

    private static ByteVector bytes(byte[] b, int off) {
        return ByteVector.fromArray(BYTES, b, off);
    }

    private static IntVector ints(byte[] b, int off) {
        return (IntVector) ByteVector.fromArray(BYTES, b, off).convertShape(VectorOperators.B2I, INTS, 0);
    }

    private static FloatVector floats(ByteVector q) {
        return (FloatVector) q.convertShape(VectorOperators.B2F, FLOATS, 0);
    }

    /** Q4_K and Q5_K (nibbles plus a fifth bit from qh): value = (d * scale) * q - dmin * min. */
    static void widenQ45K(byte[] b, int k, float[] dst, int off, boolean five) {
        int blockBytes = (five ? DType.Q5_K : DType.Q4_K).blockBytes();
        int quantsAt = five ? 48 : 16;
        for (int blk = 0; blk < k / QK; blk++) {
            int bOff = blk * blockBytes;
            float d = half(b, bOff);
            float dMin = half(b, bOff + 2);
            for (int sub = 0; sub < 8; sub++) {
                float dl = d * kScale(b, bOff + 4, sub);
                float ml = dMin * kMin(b, bOff + 4, sub);
                int shift = 4 * (sub & 1);
                int o = off + blk * QK + 32 * sub;
                for (int j = 0; j < 32; j += LANES) { // on int lanes: x86 has no byte shifts
                    IntVector q = ints(b, bOff + quantsAt + 32 * (sub >> 1) + j).lanewise(VectorOperators.LSHR, shift)
                            .and(0x0F);
                    if (five) {
                        q = q.or(ints(b, bOff + 16 + j).lanewise(VectorOperators.LSHR, sub).and(1)
                                .lanewise(VectorOperators.LSHL, 4));
                    }
                    ((FloatVector) q.convert(VectorOperators.I2F, 0)).mul(dl).sub(ml).intoArray(dst, o + j);
                }
            }
        }
    }

    /** Q6_K: 4 low bits from ql, 2 high bits from qh, minus 32, times d * scale (one scale per 16 values). */
    static void widenQ6K(byte[] b, int k, float[] dst, int off) {
        int blockBytes = DType.Q6_K.blockBytes();
        for (int blk = 0; blk < k / QK; blk++) {
            int bOff = blk * blockBytes;
            float d = half(b, bOff + 208);
            for (int h = 0; h < 2; h++) {
                for (int s = 0; s < 4; s++) {
                    int o = off + blk * QK + 128 * h + 32 * s;
                    for (int j = 0; j < 32; j += LANES) { // on int lanes: x86 has no byte shifts
                        IntVector low = ints(b, bOff + 64 * h + 32 * (s & 1) + j)
                                .lanewise(VectorOperators.LSHR, 4 * (s >> 1)).and(0x0F);
                        IntVector high = ints(b, bOff + 128 + 32 * h + j).lanewise(VectorOperators.LSHR, 2 * s)
                                .and(3).lanewise(VectorOperators.LSHL, 4);
                        float dl = d * b[bOff + 192 + 8 * h + 2 * s + j / 16];
                        ((FloatVector) low.or(high).sub(32).convert(VectorOperators.I2F, 0)).mul(dl).intoArray(dst, o + j);
                    }
                }
            }
        }
    }

    /** Q2_K: 2-bit quants, value = (d * scale) * q - dmin * min with 4-bit scale and min per 16 values. */
    static void widenQ2K(byte[] b, int k, float[] dst, int off) {
        int blockBytes = DType.Q2_K.blockBytes();
        for (int blk = 0; blk < k / QK; blk++) {
            int bOff = blk * blockBytes;
            float d = half(b, bOff + 80);
            float dMin = half(b, bOff + 82);
            for (int h = 0; h < 2; h++) {
                for (int s = 0; s < 4; s++) {
                    int o = off + blk * QK + 128 * h + 32 * s;
                    for (int j = 0; j < 32; j += LANES) {
                        int sc = u8(b, bOff + 8 * h + 2 * s + j / 16);
                        float dl = d * (sc & 0x0F);
                        float ml = dMin * (sc >>> 4);
                        ByteVector q = bytes(b, bOff + 16 + 32 * h + j).lanewise(VectorOperators.LSHR, 2 * s).and((byte) 3);
                        floats(q).mul(dl).sub(ml).intoArray(dst, o + j);
                    }
                }
            }
        }
    }

    /** Q3_K: 2-bit quants plus a high bit from hmask, minus 4, times d * (scale - 32). */
    static void widenQ3K(byte[] b, int k, float[] dst, int off) {
        int blockBytes = DType.Q3_K.blockBytes();
        float[] dl = new float[16];
        for (int blk = 0; blk < k / QK; blk++) {
            int bOff = blk * blockBytes;
            float d = half(b, bOff + 108);
            for (int i = 0; i < 16; i++) { // the 6-bit scales: low bits in bytes 0..7, high bit pairs in 8..11
                int low = i < 8 ? u8(b, bOff + 96 + i) & 0x0F : u8(b, bOff + 96 + i - 8) >>> 4;
                int high = (u8(b, bOff + 104 + i % 4) >>> (2 * (i / 4))) & 3;
                dl[i] = d * ((low | high << 4) - 32);
            }
            for (int h = 0; h < 2; h++) {
                for (int s = 0; s < 4; s++) {
                    int o = off + blk * QK + 128 * h + 32 * s;
                    for (int j = 0; j < 32; j += LANES) { // on int lanes: x86 has no byte shifts
                        IntVector high = ints(b, bOff + j).lanewise(VectorOperators.LSHR, 4 * h + s).and(1);
                        IntVector v = ints(b, bOff + 32 + 32 * h + j).lanewise(VectorOperators.LSHR, 2 * s).and(3)
                                .add(high.lanewise(VectorOperators.LSHL, 2)).sub(4);
                        ((FloatVector) v.convert(VectorOperators.I2F, 0)).mul(dl[8 * h + 2 * s + j / 16]).intoArray(dst, o + j);
                    }
                }
            }
        }
    }
}
