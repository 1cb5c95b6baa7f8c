package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.VectorSpecs.BYTES;
import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;
import static io.llmnpu.backend.cpu.VectorSpecs.I16;
import static io.llmnpu.backend.cpu.VectorSpecs.LANES;
import static io.llmnpu.backend.cpu.VectorSpecs.LE;
import static io.llmnpu.backend.cpu.VectorSpecs.QUANTIZED_VECTORS;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Dequantizer;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Widens rows of k-quant weights (super-blocks of 256 values: Q2_K, Q3_K, Q4_K, Q5_K, Q6_K; layouts on
 * {@link DType}) to F32 with byte vectors: each quant field is isolated with byte shifts and masks, a
 * vector of LANES quants is converted to floats and scaled by its sub-block's scale (and min). Every
 * sub-block of 16 or 32 values is a whole number of vectors, since LANES is 8 or 16, so one scale serves
 * a whole vector. Each value is computed with the float operations of {@link Dequantizer}
 * ({@code (d * scale) * q - dmin * min}), so the results are identical to it.
 */
final class KQuantRows {
    static final int QK = 256;

    private KQuantRows() {
    }

    /** The row widener of a k-quant type. */
    static WeightRows of(DType dtype) {
        return switch (dtype) {
            case Q2_K -> KQuantRows::widenQ2K;
            case Q3_K -> KQuantRows::widenQ3K;
            case Q4_K -> (w, row, k, dst, off) -> widenQ45K(w, row, k, dst, off, false);
            case Q5_K -> (w, row, k, dst, off) -> widenQ45K(w, row, k, dst, off, true);
            case Q6_K -> KQuantRows::widenQ6K;
            default -> throw new IllegalArgumentException(dtype + " is not a k-quant type");
        };
    }

    private static float half(MemorySegment w, long off) {
        return Float.float16ToFloat(w.get(I16, off));
    }

    private static int u8(MemorySegment w, long off) {
        return w.get(ValueLayout.JAVA_BYTE, off) & 0xFF;
    }

    private static ByteVector bytes(MemorySegment w, long off) {
        return ByteVector.fromMemorySegment(BYTES, w, off, LE);
    }

    private static FloatVector floats(ByteVector q) {
        return (FloatVector) q.convertShape(VectorOperators.B2F, FLOATS, 0);
    }

    /** Blocks the vector paths cannot take are decoded one by one by the scalar definition. */
    private static void scalarRow(DType type, MemorySegment w, int row, int k, float[] dst, int off) {
        long rowBytes = type.byteSize(k);
        Dequantizer.dequantize(type, w.asSlice(row * rowBytes, rowBytes), dst, off, k);
    }

    /** Q4_K (nibbles) and Q5_K (nibbles plus a fifth bit from qh): value = (d * scale) * q - dmin * min. */
    static void widenQ45K(MemorySegment w, int row, int k, float[] dst, int off, boolean five) {
        DType type = five ? DType.Q5_K : DType.Q4_K;
        if (!QUANTIZED_VECTORS) {
            scalarRow(type, w, row, k, dst, off);
            return;
        }
        int blockBytes = type.blockBytes();
        int blocks = k / QK;
        long rowOff = (long) row * blocks * blockBytes;
        long quantsAt = five ? 48 : 16;
        for (int b = 0; b < blocks; b++) {
            long bOff = rowOff + (long) b * blockBytes;
            float d = half(w, bOff);
            float dMin = half(w, bOff + 2);
            for (int p = 0; p < 4; p++) {
                float d1 = d * Dequantizer.kScale(w, bOff + 4, 2 * p);
                float m1 = dMin * Dequantizer.kMin(w, bOff + 4, 2 * p);
                float d2 = d * Dequantizer.kScale(w, bOff + 4, 2 * p + 1);
                float m2 = dMin * Dequantizer.kMin(w, bOff + 4, 2 * p + 1);
                int o = off + b * QK + 64 * p;
                for (int j = 0; j < 32; j += LANES) {
                    ByteVector q = bytes(w, bOff + quantsAt + 32 * p + j);
                    ByteVector lo = q.and((byte) 0x0F);
                    ByteVector hi = q.lanewise(VectorOperators.LSHR, 4);
                    if (five) {
                        ByteVector h = bytes(w, bOff + 16 + j);
                        lo = lo.or(h.lanewise(VectorOperators.LSHR, 2 * p).and((byte) 1).lanewise(VectorOperators.LSHL, 4));
                        hi = hi.or(h.lanewise(VectorOperators.LSHR, 2 * p + 1).and((byte) 1).lanewise(VectorOperators.LSHL, 4));
                    }
                    floats(lo).mul(d1).sub(m1).intoArray(dst, o + j);
                    floats(hi).mul(d2).sub(m2).intoArray(dst, o + 32 + j);
                }
            }
        }
    }

    /** Q6_K: 4 low bits from ql, 2 high bits from qh, minus 32, times d * scale (one scale per 16 values). */
    static void widenQ6K(MemorySegment w, int row, int k, float[] dst, int off) {
        if (!QUANTIZED_VECTORS) {
            scalarRow(DType.Q6_K, w, row, k, dst, off);
            return;
        }
        int blockBytes = DType.Q6_K.blockBytes();
        int blocks = k / QK;
        long rowOff = (long) row * blocks * blockBytes;
        for (int b = 0; b < blocks; b++) {
            long bOff = rowOff + (long) b * blockBytes;
            float d = half(w, bOff + 208);
            for (int h = 0; h < 2; h++) {
                int o = off + b * QK + 128 * h;
                for (int j = 0; j < 32; j += LANES) {
                    ByteVector a = bytes(w, bOff + 64 * h + j);
                    ByteVector c = bytes(w, bOff + 64 * h + 32 + j);
                    ByteVector high = bytes(w, bOff + 128 + 32 * h + j);
                    ByteVector q1 = a.and((byte) 0x0F).or(high.and((byte) 3).lanewise(VectorOperators.LSHL, 4));
                    ByteVector q2 = c.and((byte) 0x0F)
                            .or(high.lanewise(VectorOperators.LSHR, 2).and((byte) 3).lanewise(VectorOperators.LSHL, 4));
                    ByteVector q3 = a.lanewise(VectorOperators.LSHR, 4)
                            .or(high.lanewise(VectorOperators.LSHR, 4).and((byte) 3).lanewise(VectorOperators.LSHL, 4));
                    ByteVector q4 = c.lanewise(VectorOperators.LSHR, 4)
                            .or(high.lanewise(VectorOperators.LSHR, 6).lanewise(VectorOperators.LSHL, 4));
                    long scales = bOff + 192 + 8 * h + j / 16;
                    floats(q1.sub((byte) 32)).mul(d * w.get(ValueLayout.JAVA_BYTE, scales)).intoArray(dst, o + j);
                    floats(q2.sub((byte) 32)).mul(d * w.get(ValueLayout.JAVA_BYTE, scales + 2)).intoArray(dst, o + 32 + j);
                    floats(q3.sub((byte) 32)).mul(d * w.get(ValueLayout.JAVA_BYTE, scales + 4)).intoArray(dst, o + 64 + j);
                    floats(q4.sub((byte) 32)).mul(d * w.get(ValueLayout.JAVA_BYTE, scales + 6)).intoArray(dst, o + 96 + j);
                }
            }
        }
    }

    /** Q2_K: 2-bit quants, value = (d * scale) * q - dmin * min with 4-bit scale and min per 16 values. */
    static void widenQ2K(MemorySegment w, int row, int k, float[] dst, int off) {
        if (!QUANTIZED_VECTORS) {
            scalarRow(DType.Q2_K, w, row, k, dst, off);
            return;
        }
        int blockBytes = DType.Q2_K.blockBytes();
        int blocks = k / QK;
        long rowOff = (long) row * blocks * blockBytes;
        for (int b = 0; b < blocks; b++) {
            long bOff = rowOff + (long) b * blockBytes;
            float d = half(w, bOff + 80);
            float dMin = half(w, bOff + 82);
            for (int h = 0; h < 2; h++) {
                for (int j = 0; j < 32; j += LANES) {
                    ByteVector q = bytes(w, bOff + 16 + 32 * h + j);
                    for (int s = 0; s < 4; s++) {
                        int sc = u8(w, bOff + 8 * h + 2 * s + j / 16);
                        float dl = d * (sc & 0x0F);
                        float ml = dMin * (sc >>> 4);
                        floats(q.lanewise(VectorOperators.LSHR, 2 * s).and((byte) 3)).mul(dl).sub(ml)
                                .intoArray(dst, off + b * QK + 128 * h + 32 * s + j);
                    }
                }
            }
        }
    }

    /** Q3_K: 2-bit quants plus a high bit from hmask, minus 4, times d * (scale - 32). */
    static void widenQ3K(MemorySegment w, int row, int k, float[] dst, int off) {
        if (!QUANTIZED_VECTORS) {
            scalarRow(DType.Q3_K, w, row, k, dst, off);
            return;
        }
        int blockBytes = DType.Q3_K.blockBytes();
        int blocks = k / QK;
        long rowOff = (long) row * blocks * blockBytes;
        for (int b = 0; b < blocks; b++) {
            long bOff = rowOff + (long) b * blockBytes;
            float d = half(w, bOff + 108);
            for (int h = 0; h < 2; h++) {
                for (int j = 0; j < 32; j += LANES) {
                    ByteVector q = bytes(w, bOff + 32 + 32 * h + j);
                    ByteVector mask = bytes(w, bOff + j);
                    for (int s = 0; s < 4; s++) {
                        float dl = d * (Dequantizer.q3KScale(w, bOff + 96, 8 * h + 2 * s + j / 16) - 32);
                        ByteVector high = mask.lanewise(VectorOperators.LSHR, 4 * h + s).and((byte) 1);
                        ByteVector v = q.lanewise(VectorOperators.LSHR, 2 * s).and((byte) 3)
                                .add(high.lanewise(VectorOperators.LSHL, 2)).sub((byte) 4);
                        floats(v).mul(dl).intoArray(dst, off + b * QK + 128 * h + 32 * s + j);
                    }
                }
            }
        }
    }
}
