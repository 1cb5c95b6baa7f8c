package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.QuantBlocks.BLOCK;
import static io.llmnpu.backend.cpu.QuantBlocks.QUANTS;
import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;
import static io.llmnpu.backend.cpu.VectorSpecs.I16;
import static io.llmnpu.backend.cpu.VectorSpecs.I32;
import static io.llmnpu.backend.cpu.VectorSpecs.INTS;
import static io.llmnpu.backend.cpu.VectorSpecs.LANES;
import static io.llmnpu.backend.cpu.VectorSpecs.LE;
import static io.llmnpu.backend.cpu.VectorSpecs.QUANTIZED_VECTORS;
import static io.llmnpu.backend.cpu.VectorSpecs.SHORTS;

import io.llmnpu.api.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q8_0 and Q4_0 weights rearranged so that one int lane holds one weight row: the layout decode reads
 * at memory speed.
 *
 * <p>Why. In the GGUF layout a row's 32-value blocks follow each other, so a row-by-row dot product
 * widens bytes within a row ({@code B2F}, a shuffle the CPU runs on one port), converts each block's F16
 * scale on its own and ends every row with a horizontal sum; measured, that reached a third of what the
 * memory delivers. Here {@link #ROWS} consecutive rows (one per int lane) are interleaved block by
 * block, four bytes of each row side by side, so one vector load brings the same four columns of every
 * row of the group; two shifts isolate one column of all rows as int lanes, one conversion makes them
 * floats, and one FMA against the broadcast activation adds them in. The group's sixteen scales are
 * converted as one vector and the outputs of sixteen rows are stored as one vector: no per-row
 * horizontal sums.
 *
 * <p>Layout of a group (rows {@code g*ROWS .. g*ROWS+ROWS-1}), block by block, {@code ROWS} times the
 * GGUF block size per block (so the tensor keeps its size):
 * <ul>
 *   <li>the rows' F16 scales, one 16-bit value per row;</li>
 *   <li>Q8_0: 8 quads; quad q holds, for each row r, the int of its bytes for columns 4q..4q+3 (the
 *       byte of column 4q lowest);</li>
 *   <li>Q4_0: 4 octets; octet o holds, for each row r, the int of its 8 nibbles for columns
 *       8o..8o+7 (column 8o in the lowest nibble), each stored as {@code nibble ^ 8}, which read as a
 *       signed 4-bit number is the value {@code nibble - 8} itself.</li>
 * </ul>
 * Tensors whose row count is not a multiple of {@link #ROWS}, and CPUs whose float vectors are not 8
 * or 16 lanes wide, keep the GGUF layout and its kernels.
 */
final class InterleavedQuants {

    /** Rows per group: one per float (and int) lane. */
    static final int ROWS = LANES;
    /** Bytes of the group's scales at the start of each block. */
    static final int SCALE_BYTES = ROWS * Short.BYTES;
    /** Bytes of one vector of int lanes (one per row): a quad (Q8_0) or an octet (Q4_0). */
    static final int LANE_BYTES = ROWS * Integer.BYTES;

    /** 2^112: rescales an F16 exponent (bias 15) placed in an F32 (bias 127). */
    private static final float F16_EXPONENT_SHIFT = 0x1p112f;

    private InterleavedQuants() {
    }

    /** Whether a [n, k] weight of {@code dtype} can be interleaved (otherwise it keeps the GGUF layout). */
    static boolean supports(DType dtype, int n, int k) {
        return QUANTIZED_VECTORS && (dtype == DType.Q8_0 || dtype == DType.Q4_0) && n % ROWS == 0 && k % BLOCK == 0
                && n > 0 && k > 0;
    }

    /** Bytes of one block of a group: ROWS GGUF blocks. */
    static int groupBlockBytes(DType dtype) {
        return ROWS * dtype.blockBytes();
    }

    /**
     * Writes groups [g0, g1) of {@code src} (GGUF layout, [n, k]) in the interleaved layout to {@code dst},
     * which has the same size. Groups are independent, so callers may split the work.
     */
    static void interleave(DType dtype, MemorySegment src, MemorySegment dst, int k, int g0, int g1) {
        int blocks = k / BLOCK;
        int blockBytes = dtype.blockBytes();
        long groupBytes = (long) blocks * groupBlockBytes(dtype);
        for (int g = g0; g < g1; g++) {
            for (int r = 0; r < ROWS; r++) {
                long rowOff = ((long) g * ROWS + r) * blocks * blockBytes;
                for (int b = 0; b < blocks; b++) {
                    long from = rowOff + (long) b * blockBytes;
                    long to = g * groupBytes + (long) b * groupBlockBytes(dtype);
                    dst.set(I16, to + (long) r * Short.BYTES, src.get(I16, from));
                    long lanes = to + SCALE_BYTES + (long) r * Integer.BYTES;
                    if (dtype == DType.Q8_0) {
                        for (int q = 0; q < BLOCK / 4; q++) {
                            dst.set(I32, lanes + (long) q * LANE_BYTES, src.get(I32, from + QUANTS + 4L * q));
                        }
                    } else {
                        interleaveQ4(src, from + QUANTS, dst, lanes);
                    }
                }
            }
        }
    }

    /**
     * A Q4_0 block's 16 bytes hold column j in the low nibble of byte j and column j + 16 in the high
     * nibble: octets 0 and 1 are the low nibbles of bytes 0-7 and 8-15, octets 2 and 3 their high ones.
     */
    private static void interleaveQ4(MemorySegment src, long quants, MemorySegment dst, long lanes) {
        long lo = src.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE), quants);
        long hi = src.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE), quants + 8);
        long[] octets = {lo, hi, lo >>> 4, hi >>> 4};
        for (int o = 0; o < 4; o++) {
            int nibbles = (int) Long.compress(octets[o], 0x0F0F0F0F0F0F0F0FL);
            dst.set(I32, lanes + (long) o * LANE_BYTES, nibbles ^ 0x88888888);
        }
    }

    /** The scales of a group's block as floats, one per row (lane). */
    static FloatVector scales(MemorySegment w, long blockOff) {
        return f16ToFloats((IntVector) ShortVector.fromMemorySegment(SHORTS, w, blockOff, LE)
                .convertShape(VectorOperators.S2I, INTS, 0));
    }

    /**
     * F16 bit patterns (in the low 16 bits of each int lane; the bits above are ignored) to floats without a lookup table: the 15
     * magnitude bits shifted up by 13 form an F32 whose exponent is 112 too small, which one
     * multiplication by 2^112 fixes for normal and subnormal values alike; infinities and NaNs
     * (exponent 31) get the F32 all-ones exponent instead; the sign bit is moved over last.
     */
    static FloatVector f16ToFloats(IntVector h) {
        IntVector magnitude = h.and(0x7FFF);
        IntVector shifted = magnitude.lanewise(VectorOperators.LSHL, 13);
        IntVector bits = shifted.reinterpretAsFloats().mul(F16_EXPONENT_SHIFT).reinterpretAsInts();
        bits = bits.blend(shifted.or(0x7F800000), magnitude.compare(VectorOperators.GE, 0x7C00));
        return bits.or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
    }

    /** One lane vector (quad or octet) of a group's block. */
    static IntVector lanes(MemorySegment w, long off) {
        return IntVector.fromMemorySegment(INTS, w, off, LE);
    }

    /** Byte {@code i} (0..3) of every lane as floats: the Q8_0 values of column 4q+i of every row. */
    static FloatVector byteOf(IntVector quad, int i) {
        IntVector v = i == 3 ? quad : quad.lanewise(VectorOperators.LSHL, 24 - 8 * i);
        return (FloatVector) v.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0);
    }

    /** Signed nibble {@code i} (0..7) of every lane as floats: the Q4_0 values of column 8o+i of every row. */
    static FloatVector nibbleOf(IntVector octet, int i) {
        IntVector v = i == 7 ? octet : octet.lanewise(VectorOperators.LSHL, 28 - 4 * i);
        return (FloatVector) v.lanewise(VectorOperators.ASHR, 28).convert(VectorOperators.I2F, 0);
    }

    /**
     * Widens columns [k0, k0 + kLen) of group {@code g} to F32, column-major: column c of the group's
     * row r goes to {@code dst[dstOff + (c - k0) * stride + r]}. This is the GEMM's panel layout for
     * interleaved weights; each value is the exact product {@code quant * scale} rounded to float, as
     * the GGUF-layout widening gives. {@code k0} and {@code kLen} are multiples of the block size.
     */
    static void widenGroup(DType dtype, MemorySegment w, int g, int k, int k0, int kLen, float[] dst, int dstOff,
                           int stride) {
        int blocks = k / BLOCK;
        int blockBytes = groupBlockBytes(dtype);
        long groupOff = (long) g * blocks * blockBytes;
        for (int b = k0 / BLOCK; b < (k0 + kLen) / BLOCK; b++) {
            long bo = groupOff + (long) b * blockBytes;
            FloatVector d = scales(w, bo);
            int col = dstOff + (b * BLOCK - k0) * stride;
            if (dtype == DType.Q8_0) {
                for (int q = 0; q < BLOCK / 4; q++) {
                    IntVector quad = lanes(w, bo + SCALE_BYTES + (long) q * LANE_BYTES);
                    int c = col + 4 * q * stride;
                    byteOf(quad, 0).mul(d).intoArray(dst, c);
                    byteOf(quad, 1).mul(d).intoArray(dst, c + stride);
                    byteOf(quad, 2).mul(d).intoArray(dst, c + 2 * stride);
                    byteOf(quad, 3).mul(d).intoArray(dst, c + 3 * stride);
                }
            } else {
                for (int o = 0; o < BLOCK / 8; o++) {
                    IntVector octet = lanes(w, bo + SCALE_BYTES + (long) o * LANE_BYTES);
                    int c = col + 8 * o * stride;
                    for (int i = 0; i < 8; i++) {
                        nibbleOf(octet, i).mul(d).intoArray(dst, c + i * stride);
                    }
                }
            }
        }
    }

    /** Value (row, column) of an interleaved tensor, for tests and slow paths. */
    static float value(DType dtype, MemorySegment w, int k, int row, int col) {
        int blocks = k / BLOCK;
        int g = row / ROWS;
        int r = row % ROWS;
        int b = col / BLOCK;
        int j = col % BLOCK;
        long bo = ((long) g * blocks + b) * groupBlockBytes(dtype);
        float d = Float.float16ToFloat(w.get(I16, bo + (long) r * Short.BYTES));
        long lane = bo + SCALE_BYTES + (long) r * Integer.BYTES;
        if (dtype == DType.Q8_0) {
            return w.get(ValueLayout.JAVA_BYTE, lane + (long) (j / 4) * LANE_BYTES + j % 4) * d;
        }
        int word = w.get(I32, lane + (long) (j / 8) * LANE_BYTES);
        return ((word << (28 - 4 * (j % 8))) >> 28) * d;
    }

    static {
        if (QUANTIZED_VECTORS && FLOATS.length() != INTS.length()) {
            throw new ExceptionInInitializerError("float and int vectors must have the same lane count");
        }
    }
}
