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
 * Widens rows of the 32-value block types beyond Q8_0 and Q4_0 (Q4_1, Q5_0, Q5_1, IQ4_NL; layouts on
 * {@link DType}) to F32. The quant bytes are widened to int lanes, where the nibbles are split, the
 * fifth bits of Q5_0/Q5_1 are picked out of their 32-bit mask with one variable shift per lane, and
 * IQ4_NL's nibbles select their level from a table held in a vector; then each vector is converted
 * and scaled with the float operations of {@link Dequantizer}, so the results are identical to it.
 */
final class SmallBlockRows {
    private static final int BLOCK = 32;
    private static final int HALF = BLOCK / 2;
    /** Lane indices 0, 1, 2, ...: the bit of the fifth-bit mask each lane needs, before the offset. */
    private static final IntVector LANE_INDEX = IntVector.zero(INTS).addIndex(1);
    /** IQ4_NL's 16 levels in one vector, when a vector has 16 int lanes. */
    private static final boolean TABLE_IN_A_VECTOR = QUANTIZED_VECTORS && INTS.length() == 16;
    private static final IntVector LEVELS = TABLE_IN_A_VECTOR ? IntVector.fromArray(INTS, levels(), 0) : null;

    private SmallBlockRows() {
    }

    private static int[] levels() {
        int[] l = new int[16];
        for (int i = 0; i < 16; i++) {
            l[i] = DType.iq4nlLevel(i);
        }
        return l;
    }

    /** The row widener of a 32-value block type of this family. */
    static WeightRows of(DType dtype) {
        if (dtype != DType.Q4_1 && dtype != DType.Q5_0 && dtype != DType.Q5_1 && dtype != DType.IQ4_NL) {
            throw new IllegalArgumentException(dtype + " is not a block type of this family");
        }
        ThreadLocal<byte[]> rowCopy = new ThreadLocal<>(); // one row's bytes per thread, reused row after row
        return (w, row, k, dst, off) -> widen(dtype, w, row, k, dst, off, rowCopy);
    }

    /** The quants as ints, one per float lane (x86 has no byte shifts; nibbles are split as ints). */
    private static IntVector quants(byte[] b, int off) {
        return (IntVector) ByteVector.fromArray(BYTES, b, off).convertShape(VectorOperators.B2I, INTS, 0);
    }

    private static float half(byte[] b, int at) {
        return Float.float16ToFloat((short) ((b[at] & 0xFF) | (b[at + 1] & 0xFF) << 8));
    }

    private static FloatVector floats(IntVector q) {
        return (FloatVector) q.convert(VectorOperators.I2F, 0);
    }

    private static void widen(DType type, MemorySegment w, int row, int k, float[] dst, int off,
                              ThreadLocal<byte[]> rowCopy) {
        long rowBytes = type.byteSize(k);
        if (!QUANTIZED_VECTORS || (type == DType.IQ4_NL && !TABLE_IN_A_VECTOR)) {
            Dequantizer.dequantize(type, w.asSlice(row * rowBytes, rowBytes), dst, off, k);
            return;
        }
        // From a byte[] copy: array vector loads compile to far less code than segment loads (see KQuantRows).
        byte[] bytes = rowCopy.get();
        if (bytes == null || bytes.length < rowBytes) {
            bytes = new byte[Math.toIntExact(rowBytes)];
            rowCopy.set(bytes);
        }
        MemorySegment.copy(w, ValueLayout.JAVA_BYTE, row * rowBytes, bytes, 0, (int) rowBytes);
        int blockBytes = type.blockBytes();
        for (int b = 0; b < k / BLOCK; b++) {
            int bOff = b * blockBytes;
            int o = off + b * BLOCK;
            switch (type) {
                case Q4_1 -> q4_1(bytes, bOff, dst, o);
                case Q5_0 -> q5(bytes, bOff, dst, o, false);
                case Q5_1 -> q5(bytes, bOff, dst, o, true);
                default -> iq4nl(bytes, bOff, dst, o);
            }
        }
    }

    /** value = nibble * d + m. */
    private static void q4_1(byte[] w, int bOff, float[] dst, int o) {
        float d = half(w, bOff);
        float m = half(w, bOff + 2);
        for (int j = 0; j < HALF; j += LANES) {
            IntVector q = quants(w, bOff + 4 + j);
            floats(q.and(0x0F)).mul(d).add(m).intoArray(dst, o + j);
            floats(q.lanewise(VectorOperators.LSHR, 4).and(0x0F)).mul(d).add(m).intoArray(dst, o + HALF + j);
        }
    }

    /** Q5_0: value = ((nibble | bit << 4) - 16) * d; Q5_1: value = (nibble | bit << 4) * d + m. */
    private static void q5(byte[] w, int bOff, float[] dst, int o, boolean withMin) {
        float d = half(w, bOff);
        float m = withMin ? half(w, bOff + 2) : 0f;
        int maskAt = bOff + (withMin ? 4 : 2);
        int bits = (w[maskAt] & 0xFF) | (w[maskAt + 1] & 0xFF) << 8 | (w[maskAt + 2] & 0xFF) << 16 | (w[maskAt + 3] & 0xFF) << 24;
        IntVector mask = IntVector.broadcast(INTS, bits);
        for (int j = 0; j < HALF; j += LANES) {
            IntVector q = quants(w, maskAt + 4 + j);
            IntVector fifthLo = mask.lanewise(VectorOperators.LSHR, LANE_INDEX.add(j)).and(1).lanewise(VectorOperators.LSHL, 4);
            IntVector fifthHi = mask.lanewise(VectorOperators.LSHR, LANE_INDEX.add(HALF + j)).and(1)
                    .lanewise(VectorOperators.LSHL, 4);
            IntVector lo = q.and(0x0F).or(fifthLo);
            IntVector hi = q.lanewise(VectorOperators.LSHR, 4).and(0x0F).or(fifthHi);
            if (withMin) {
                floats(lo).mul(d).add(m).intoArray(dst, o + j);
                floats(hi).mul(d).add(m).intoArray(dst, o + HALF + j);
            } else {
                floats(lo.sub(16)).mul(d).intoArray(dst, o + j);
                floats(hi.sub(16)).mul(d).intoArray(dst, o + HALF + j);
            }
        }
    }

    /** value = d * level(nibble), the level looked up by a lane permutation of the table vector. */
    private static void iq4nl(byte[] w, int bOff, float[] dst, int o) {
        float d = half(w, bOff);
        IntVector q = quants(w, bOff + 2); // 16 lanes: the whole block's 16 bytes
        floats(q.and(0x0F).selectFrom(LEVELS)).mul(d).intoArray(dst, o);
        floats(q.lanewise(VectorOperators.LSHR, 4).and(0x0F).selectFrom(LEVELS)).mul(d).intoArray(dst, o + HALF);
    }
}
