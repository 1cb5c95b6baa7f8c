package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.QuantBlocks.BLOCK;
import static io.llmnpu.backend.cpu.QuantBlocks.QUANTS;
import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;
import static io.llmnpu.backend.cpu.VectorSpecs.I16;
import static io.llmnpu.backend.cpu.VectorSpecs.I32;
import static io.llmnpu.backend.cpu.VectorSpecs.I64;
import static io.llmnpu.backend.cpu.VectorSpecs.INTS;
import static io.llmnpu.backend.cpu.VectorSpecs.LANES;
import static io.llmnpu.backend.cpu.VectorSpecs.LE;
import static io.llmnpu.backend.cpu.VectorSpecs.QUANTIZED_VECTORS;
import static io.llmnpu.backend.cpu.VectorSpecs.SHORTS;

import io.llmnpu.api.tensor.DType;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Weight matrices rearranged so that one vector lane holds one weight row: the layout decode reads at
 * memory speed, for Q8_0, Q4_0, F16, BF16 and F32 weights (Q4_K, Q5_K and Q6_K: {@link InterleavedKQuants};
 * Q4_1, Q5_0 and Q5_1: {@link InterleavedSmallBlocks}).
 *
 * <p>Why. In the file layout a row's values follow each other, so a row-by-row dot product widens
 * values within a row ({@code B2F}/{@code S2I}, shuffles the CPU runs on one port), converts each
 * Q8_0/Q4_0 block's F16 scale on its own and ends every row with a horizontal sum; measured, the
 * Q8_0 kernel reached a third of what the memory delivers. Here {@link #ROWS} consecutive rows (one
 * per int lane) are interleaved, one int of each row side by side, so one vector load brings the same
 * columns of every row of the group; shifts isolate one column of all rows as int lanes, one
 * conversion (or a bit trick) makes them floats, and one FMA against the broadcast activation adds
 * them in. Scales are converted sixteen at a time and the outputs of sixteen rows are stored as one
 * vector: no per-row horizontal sums.
 *
 * <p>Layout of group g (rows {@code g*ROWS .. g*ROWS+ROWS-1}); the tensor keeps its size:
 * <ul>
 *   <li>Q8_0, block by block (ROWS GGUF blocks each): the rows' F16 scales, one 16-bit value per row,
 *       then 8 quads; quad q holds, for each row, the int of its bytes for columns 4q..4q+3 (the byte
 *       of column 4q lowest), the lower three stored as {@code byte ^ 0x80} (unsigned, the value plus
 *       128), the top one as it is.</li>
 *   <li>Q4_0, block by block: the scales, then 4 octets; octet o holds, for each row, the int of its 8
 *       nibbles for columns 8o..8o+7 (column 8o in the lowest nibble): the lower seven as in the file
 *       (unsigned, the value plus 8), the top one as {@code nibble ^ 8}, which read as a signed 4-bit
 *       number is the value itself.</li>
 *   <li>F16 and BF16, pair by pair: pair p holds, for each row, the int of its values of columns 2p
 *       (low half) and 2p + 1 (high half), as in the file.</li>
 *   <li>F32, column by column: column c holds, for each row, its value (a whole row of F32 needs no
 *       conversion, but a row-by-row dot product still ends each row with a horizontal sum, which
 *       costs as much as the products themselves for narrow models).</li>
 * </ul>
 * Tensors whose row count is not a multiple of {@link #ROWS} (or whose width is not a multiple of the
 * block size, or of 4 for F16/BF16), F16 tensors holding infinities or NaNs and Q8_0/Q4_0 tensors with
 * such a scale (the fast F16 conversion does not produce them), and CPUs whose float vectors are not 8
 * or 16 lanes wide keep the file layout and its kernels.
 */
final class InterleavedRows {

    /** Rows per group: one per float (and int) lane. */
    static final int ROWS = LANES;
    /** Bytes of a Q8_0/Q4_0 group's scales at the start of each block. */
    static final int SCALE_BYTES = ROWS * Short.BYTES;
    /** Bytes of one vector of int lanes (one per row): a quad, an octet or a pair. */
    static final int LANE_BYTES = ROWS * Integer.BYTES;

    /** Q8_0 quads: bytes 0-2 flipped to unsigned (value + 128), byte 3 kept signed. */
    static final int Q8_UNSIGNED_BYTES = 0x00808080;
    /** Q4_0 octets: nibble 7 flipped to signed (value itself), nibbles 0-6 kept unsigned (value + 8). */
    static final int Q4_SIGNED_TOP = 0x80000000;
    /** What the Q8_0 kernels subtract per unsigned column, times the column's activation. */
    static final float Q8_OFFSET = 128f;
    /** What the Q4_0 kernels subtract per unsigned column, times the column's activation. */
    static final float Q4_OFFSET = 8f;

    /** 2^112: rescales an F16 exponent (bias 15) placed in an F32 (bias 127). */
    static final float F16_EXPONENT_SHIFT = 0x1p112f;
    /** Sign and F16 exponent/mantissa bits of an F16 value shifted into F32 position (see {@link #f16Low}). */
    private static final int F16_BITS = 0x8FFFFFFF;

    private InterleavedRows() {
    }

    /** Whether a [n, k] weight of {@code dtype} can be interleaved (otherwise it keeps the file layout). */
    static boolean supports(DType dtype, int n, int k) {
        if (!QUANTIZED_VECTORS || n <= 0 || k <= 0 || n % ROWS != 0) {
            return false;
        }
        return switch (dtype) {
            case Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 -> k % BLOCK == 0;
            case F32, F16, BF16 -> k % 4 == 0;
            case Q4_K, Q5_K, Q6_K -> k % InterleavedKQuants.QK == 0;
            default -> false;
        };
    }

    /** Bytes of one block of a Q8_0/Q4_0 group: ROWS GGUF blocks. */
    static int groupBlockBytes(DType dtype) {
        return ROWS * dtype.blockBytes();
    }

    /**
     * Writes groups [g0, g1) of {@code src} (file layout, [n, k]) in the interleaved layout to {@code dst},
     * which has the same size. Groups are independent, so callers may split the work.
     *
     * @return false if an F16 value or a block scale is infinite or NaN (then {@code dst} is incomplete and
     *         must not be used)
     */
    static boolean interleave(DType dtype, MemorySegment src, MemorySegment dst, int k, int g0, int g1) {
        if (InterleavedKQuants.isKQuant(dtype)) {
            return InterleavedKQuants.interleave(dtype, src, dst, k, g0, g1);
        }
        if (InterleavedSmallBlocks.isSmallBlock(dtype)) {
            return InterleavedSmallBlocks.interleave(dtype, src, dst, k, g0, g1);
        }
        if (dtype == DType.F32) {
            for (int g = g0; g < g1; g++) {
                long groupOff = (long) g * ROWS * k * Float.BYTES;
                for (int r = 0; r < ROWS; r++) {
                    long rowOff = groupOff + (long) r * k * Float.BYTES;
                    for (int c = 0; c < k; c++) {
                        dst.set(I32, groupOff + (long) c * LANE_BYTES + (long) r * Integer.BYTES,
                                src.get(I32, rowOff + (long) c * Float.BYTES));
                    }
                }
            }
            return true;
        }
        if (dtype == DType.F16 || dtype == DType.BF16) {
            return interleavePairs(dtype == DType.F16, src, dst, k, g0, g1);
        }
        int blocks = k / BLOCK;
        int blockBytes = dtype.blockBytes();
        long groupBytes = (long) blocks * groupBlockBytes(dtype);
        for (int g = g0; g < g1; g++) {
            for (int r = 0; r < ROWS; r++) {
                long rowOff = ((long) g * ROWS + r) * blocks * blockBytes;
                for (int b = 0; b < blocks; b++) {
                    long from = rowOff + (long) b * blockBytes;
                    long to = g * groupBytes + (long) b * groupBlockBytes(dtype);
                    short scale = src.get(I16, from);
                    if ((scale & 0x7C00) == 0x7C00) {
                        return false;
                    }
                    dst.set(I16, to + (long) r * Short.BYTES, scale);
                    long lanes = to + SCALE_BYTES + (long) r * Integer.BYTES;
                    if (dtype == DType.Q8_0) {
                        for (int q = 0; q < BLOCK / 4; q++) {
                            dst.set(I32, lanes + (long) q * LANE_BYTES,
                                    src.get(I32, from + QUANTS + 4L * q) ^ Q8_UNSIGNED_BYTES);
                        }
                    } else {
                        interleaveQ4(src, from + QUANTS, dst, lanes);
                    }
                }
            }
        }
        return true;
    }

    private static boolean interleavePairs(boolean f16, MemorySegment src, MemorySegment dst, int k, int g0, int g1) {
        int pairs = k / 2;
        for (int g = g0; g < g1; g++) {
            long groupOff = (long) g * ROWS * k * Short.BYTES;
            for (int r = 0; r < ROWS; r++) {
                long rowOff = groupOff + (long) r * k * Short.BYTES;
                for (int p = 0; p < pairs; p++) {
                    int v = src.get(I32, rowOff + (long) p * Integer.BYTES);
                    if (f16 && ((v & 0x7C00) == 0x7C00 || (v & 0x7C000000) == 0x7C000000)) {
                        return false;
                    }
                    dst.set(I32, groupOff + (long) p * LANE_BYTES + (long) r * Integer.BYTES, v);
                }
            }
        }
        return true;
    }

    /**
     * A Q4_0 block's 16 bytes hold column j in the low nibble of byte j and column j + 16 in the high
     * nibble: octets 0 and 1 are the low nibbles of bytes 0-7 and 8-15, octets 2 and 3 their high ones.
     */
    static void interleaveQ4(MemorySegment src, long quants, MemorySegment dst, long lanes) {
        // Four calls, not a loop over a small array: the array was allocated per block (escape analysis
        // keeps arrays only when every index is a constant), 0.7 GB of garbage while a model loads.
        long lo = src.get(I64, quants);
        long hi = src.get(I64, quants + 8);
        storeOctet(dst, lanes, lo);
        storeOctet(dst, lanes + LANE_BYTES, hi);
        storeOctet(dst, lanes + 2L * LANE_BYTES, lo >>> 4);
        storeOctet(dst, lanes + 3L * LANE_BYTES, hi >>> 4);
    }

    /** The low nibbles of {@code octet}'s eight bytes as one word of the interleaved layout. */
    private static void storeOctet(MemorySegment dst, long at, long octet) {
        dst.set(I32, at, (int) Long.compress(octet, 0x0F0F0F0F0F0F0F0FL) ^ Q4_SIGNED_TOP);
    }

    /**
     * The scales of a Q8_0/Q4_0 group's block as floats, one per row (lane), exact for finite scales
     * (tensors with infinite or NaN scales are not interleaved): as {@link #f16Low}, on the 16-bit
     * scales widened with their sign.
     */
    static FloatVector scales(MemorySegment w, long blockOff) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(SHORTS, w, blockOff, LE)
                .convertShape(VectorOperators.S2I, INTS, 0);
        return h.lanewise(VectorOperators.LSHL, 13).and(F16_BITS).reinterpretAsFloats().mul(F16_EXPONENT_SHIFT);
    }

    /**
     * F16 bit patterns (in the low 16 bits of each int lane; the bits above are ignored) to floats
     * without a lookup table, infinities and NaNs included: the 15 magnitude bits shifted up by 13 form
     * an F32 whose exponent is 112 too small, which one multiplication by 2^112 fixes for normal and
     * subnormal values alike; infinities and NaNs (exponent 31) get the F32 all-ones exponent instead;
     * the sign bit is moved over last.
     */
    static FloatVector f16ToFloats(IntVector h) {
        IntVector magnitude = h.and(0x7FFF);
        IntVector shifted = magnitude.lanewise(VectorOperators.LSHL, 13);
        IntVector bits = shifted.reinterpretAsFloats().mul(F16_EXPONENT_SHIFT).reinterpretAsInts();
        bits = bits.blend(shifted.or(0x7F800000), magnitude.compare(VectorOperators.GE, 0x7C00));
        return bits.or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
    }

    /** One lane vector (quad, octet or pair) at {@code off}. */
    static IntVector lanes(MemorySegment w, long off) {
        return IntVector.fromMemorySegment(INTS, w, off, LE);
    }

    /** The top byte of every lane, sign-extended, as floats: the Q8_0 values of column 4q+3 of every row. */
    static FloatVector topByte(IntVector v) {
        return (FloatVector) v.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0);
    }

    /** The top nibble of every lane, sign-extended, as floats: the Q4_0 values of column 8o+7 of every row. */
    static FloatVector topNibble(IntVector v) {
        return (FloatVector) v.lanewise(VectorOperators.ASHR, 28).convert(VectorOperators.I2F, 0);
    }

    /**
     * The bits of every lane under {@code mask}, in place, as floats: an unsigned byte or nibble times a
     * power of two, exact in a float (the kernels scale the activation down by the same power). One AND
     * where isolating a field at the bottom would take two shifts.
     */
    static FloatVector maskedBits(IntVector v, int mask) {
        return (FloatVector) v.and(mask).convert(VectorOperators.I2F, 0);
    }

    /**
     * The bits that a left shift by {@code left} brings to the top, sign-extended back down by
     * {@code right}, as floats: {@code signedBits(quad, 24 - 8 * i, 24)} is byte i of every lane (a Q8_0
     * column), {@code signedBits(octet, 28 - 4 * i, 28)} nibble i (a Q4_0 column). (Small on purpose: the kernels call it many times per loop, and C2
     * inlines small methods wherever they are called.)
     */
    static FloatVector signedBits(IntVector v, int left, int right) {
        return (FloatVector) v.lanewise(VectorOperators.LSHL, left).lanewise(VectorOperators.ASHR, right)
                .convert(VectorOperators.I2F, 0);
    }

    /**
     * The F16 value in the low half of every lane, exact for finite values (the tensors interleaved hold
     * no others): shifted to the top, then right by 3 with the sign copied, the sign stays at bit 31 and
     * exponent and mantissa land where an F32's are; clearing bits 30-28 leaves an F32 whose exponent is
     * 112 too small, which the multiplication by 2^112 fixes (subnormals included).
     */
    static FloatVector f16Low(IntVector pair) {
        return pair.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(F16_BITS)
                .reinterpretAsFloats().mul(F16_EXPONENT_SHIFT);
    }

    /** The F16 value in the high half of every lane (see {@link #f16Low}); the low half's bits are cleared. */
    static FloatVector f16High(IntVector pair) {
        return pair.lanewise(VectorOperators.ASHR, 3).and(F16_BITS & ~0x1FFF)
                .reinterpretAsFloats().mul(F16_EXPONENT_SHIFT);
    }

    /** The BF16 value in the low half of every lane: the upper half of an F32. */
    static FloatVector bf16Low(IntVector pair) {
        return pair.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** The BF16 value in the high half of every lane. */
    static FloatVector bf16High(IntVector pair) {
        return pair.and(0xFFFF0000).reinterpretAsFloats();
    }

    /**
     * Widens columns [k0, k0 + kLen) of group {@code g} to F32, column-major: column c of the group's
     * row r goes to {@code dst[dstOff + (c - k0) * stride + r]}. This is the GEMM's panel layout for
     * interleaved weights; each value is the one the file layout's widening gives (for Q8_0/Q4_0 the
     * exact product {@code quant * scale} rounded to float). {@code k0} and {@code kLen} are multiples of
     * the block size (Q8_0/Q4_0) or of 2 (F16/BF16).
     */
    static void widenGroup(DType dtype, MemorySegment w, int g, int k, int k0, int kLen, float[] dst, int dstOff,
                           int stride) {
        // One method per layout: C2 compiles each whole (one method for all would outgrow its inlining limits).
        switch (dtype) {
            case F32 -> widenF32(w, g, k, k0, kLen, dst, dstOff, stride);
            case F16 -> widenF16(w, g, k, k0, kLen, dst, dstOff, stride);
            case BF16 -> widenBf16(w, g, k, k0, kLen, dst, dstOff, stride);
            case Q8_0 -> widenQ8(w, g, k, k0, kLen, dst, dstOff, stride);
            case Q4_0 -> widenQ4(w, g, k, k0, kLen, dst, dstOff, stride);
            case Q4_K, Q5_K, Q6_K -> widenRows(InterleavedKQuants.rows(dtype), w, g, k, k0, kLen, dst, dstOff, stride);
            case Q4_1, Q5_0, Q5_1 -> widenRows(InterleavedSmallBlocks.rows(dtype), w, g, k, k0, kLen, dst, dstOff, stride);
            default -> throw new IllegalArgumentException("no interleaved layout for " + dtype);
        }
    }

    /** {@link #widenGroup} through a row widener of the interleaved layout (the types whose rows it rebuilds). */
    private static void widenRows(WeightRows rows, MemorySegment w, int g, int k, int k0, int kLen, float[] dst,
                                  int dstOff, int stride) {
        float[] values = new float[k];
        for (int r = 0; r < ROWS; r++) {
            rows.widen(w, g * ROWS + r, k, values, 0);
            for (int c = 0; c < kLen; c++) {
                dst[dstOff + c * stride + r] = values[k0 + c];
            }
        }
    }

    private static void widenF32(MemorySegment w, int g, int k, int k0, int kLen, float[] dst, int dstOff, int stride) {
        long groupOff = (long) g * ROWS * k * Float.BYTES;
        for (int c = k0; c < k0 + kLen; c++) {
            FloatVector.fromMemorySegment(FLOATS, w, groupOff + (long) c * LANE_BYTES, LE)
                    .intoArray(dst, dstOff + (c - k0) * stride);
        }
    }

    private static void widenF16(MemorySegment w, int g, int k, int k0, int kLen, float[] dst, int dstOff, int stride) {
        long groupOff = (long) g * ROWS * k * Short.BYTES;
        for (int c = k0; c < k0 + kLen; c += 2) {
            IntVector pair = lanes(w, groupOff + (long) (c / 2) * LANE_BYTES);
            int o = dstOff + (c - k0) * stride;
            f16Low(pair).intoArray(dst, o);
            f16High(pair).intoArray(dst, o + stride);
        }
    }

    private static void widenBf16(MemorySegment w, int g, int k, int k0, int kLen, float[] dst, int dstOff, int stride) {
        long groupOff = (long) g * ROWS * k * Short.BYTES;
        for (int c = k0; c < k0 + kLen; c += 2) {
            IntVector pair = lanes(w, groupOff + (long) (c / 2) * LANE_BYTES);
            int o = dstOff + (c - k0) * stride;
            bf16Low(pair).intoArray(dst, o);
            bf16High(pair).intoArray(dst, o + stride);
        }
    }

    private static void widenQ8(MemorySegment w, int g, int k, int k0, int kLen, float[] dst, int dstOff, int stride) {
        int blockBytes = groupBlockBytes(DType.Q8_0);
        long groupOff = (long) g * (k / BLOCK) * blockBytes;
        for (int b = k0 / BLOCK; b < (k0 + kLen) / BLOCK; b++) {
            long bo = groupOff + (long) b * blockBytes;
            FloatVector d = scales(w, bo);
            int col = dstOff + (b * BLOCK - k0) * stride;
            for (int q = 0; q < BLOCK / 4; q++) {
                IntVector quad = lanes(w, bo + SCALE_BYTES + (long) q * LANE_BYTES).lanewise(VectorOperators.XOR,
                        Q8_UNSIGNED_BYTES);
                int c = col + 4 * q * stride;
                signedBits(quad, 24, 24).mul(d).intoArray(dst, c);
                signedBits(quad, 16, 24).mul(d).intoArray(dst, c + stride);
                signedBits(quad, 8, 24).mul(d).intoArray(dst, c + 2 * stride);
                topByte(quad).mul(d).intoArray(dst, c + 3 * stride);
            }
        }
    }

    private static void widenQ4(MemorySegment w, int g, int k, int k0, int kLen, float[] dst, int dstOff, int stride) {
        int blockBytes = groupBlockBytes(DType.Q4_0);
        long groupOff = (long) g * (k / BLOCK) * blockBytes;
        for (int b = k0 / BLOCK; b < (k0 + kLen) / BLOCK; b++) {
            long bo = groupOff + (long) b * blockBytes;
            FloatVector d = scales(w, bo);
            int col = dstOff + (b * BLOCK - k0) * stride;
            for (int o = 0; o < BLOCK / 8; o++) {
                // Every nibble flipped to signed, as the top one already is.
                IntVector octet = lanes(w, bo + SCALE_BYTES + (long) o * LANE_BYTES).lanewise(VectorOperators.XOR,
                        0x88888888 ^ Q4_SIGNED_TOP);
                int c = col + 8 * o * stride;
                signedBits(octet, 28, 28).mul(d).intoArray(dst, c);
                signedBits(octet, 24, 28).mul(d).intoArray(dst, c + stride);
                signedBits(octet, 20, 28).mul(d).intoArray(dst, c + 2 * stride);
                signedBits(octet, 16, 28).mul(d).intoArray(dst, c + 3 * stride);
                signedBits(octet, 12, 28).mul(d).intoArray(dst, c + 4 * stride);
                signedBits(octet, 8, 28).mul(d).intoArray(dst, c + 5 * stride);
                signedBits(octet, 4, 28).mul(d).intoArray(dst, c + 6 * stride);
                topNibble(octet).mul(d).intoArray(dst, c + 7 * stride);
            }
        }
    }

    /** Value (row, column) of an interleaved tensor, for tests and slow paths. */
    static float value(DType dtype, MemorySegment w, int k, int row, int col) {
        if (InterleavedKQuants.isKQuant(dtype)) {
            return InterleavedKQuants.value(dtype, w, k, row, col);
        }
        if (InterleavedSmallBlocks.isSmallBlock(dtype)) {
            return InterleavedSmallBlocks.value(dtype, w, k, row, col);
        }
        int g = row / ROWS;
        int r = row % ROWS;
        if (dtype == DType.F32) {
            return w.get(VectorSpecs.F32, (long) g * ROWS * k * Float.BYTES + (long) col * LANE_BYTES
                    + (long) r * Float.BYTES);
        }
        if (dtype == DType.F16 || dtype == DType.BF16) {
            long off = (long) g * ROWS * k * Short.BYTES + (long) (col / 2) * LANE_BYTES + (long) r * Integer.BYTES
                    + (long) (col % 2) * Short.BYTES;
            short h = w.get(I16, off);
            return dtype == DType.F16 ? Float.float16ToFloat(h) : Float.intBitsToFloat(h << 16);
        }
        int blocks = k / BLOCK;
        int b = col / BLOCK;
        int j = col % BLOCK;
        long bo = ((long) g * blocks + b) * groupBlockBytes(dtype);
        float d = Float.float16ToFloat(w.get(I16, bo + (long) r * Short.BYTES));
        long lane = bo + SCALE_BYTES + (long) r * Integer.BYTES;
        if (dtype == DType.Q8_0) {
            int quad = w.get(I32, lane + (long) (j / 4) * LANE_BYTES) ^ Q8_UNSIGNED_BYTES;
            return ((quad << (24 - 8 * (j % 4))) >> 24) * d;
        }
        int octet = w.get(I32, lane + (long) (j / 8) * LANE_BYTES) ^ 0x88888888 ^ Q4_SIGNED_TOP;
        return ((octet << (28 - 4 * (j % 8))) >> 28) * d;
    }

    static {
        if (QUANTIZED_VECTORS && FLOATS.length() != INTS.length()) {
            throw new ExceptionInInitializerError("float and int vectors must have the same lane count");
        }
    }
}
