package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.InterleavedRows.LANE_BYTES;
import static io.llmnpu.backend.cpu.InterleavedRows.ROWS;
import static io.llmnpu.backend.cpu.InterleavedRows.SCALE_BYTES;
import static io.llmnpu.backend.cpu.InterleavedRows.lanes;
import static io.llmnpu.backend.cpu.InterleavedRows.maskedBits;
import static io.llmnpu.backend.cpu.QuantBlocks.BLOCK;
import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;
import static io.llmnpu.backend.cpu.VectorSpecs.I16;
import static io.llmnpu.backend.cpu.VectorSpecs.I32;
import static io.llmnpu.backend.cpu.VectorSpecs.I64;
import static io.llmnpu.backend.cpu.VectorSpecs.INTS;
import static io.llmnpu.backend.cpu.VectorSpecs.LE;
import static io.llmnpu.backend.cpu.VectorSpecs.SHORT_PAIRS;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Dequantizer;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The {@link InterleavedRows} layout for Q4_1, Q5_0 and Q5_1 weights, and their decode kernel.
 *
 * <p>Why. These types hold the tensors a Q4_K_M file cannot store as K-quants (rows of 896 values, as in
 * Qwen2-0.5B, are not a multiple of 256), so for such models they are most of the weights; widened row
 * by row they decoded at a fifth of what the memory delivers.
 *
 * <p>Layout of group g's block b (ROWS GGUF blocks; the tensor keeps its size): the rows' F16 scales d
 * (one 16-bit value per row), for Q4_1/Q5_1 the rows' F16 mins m likewise, for Q5_0/Q5_1 the rows'
 * 32-bit masks of fifth bits (bit j is column j's, one int lane per row), then the 4 octets of low
 * nibbles exactly as Q4_0's ({@link InterleavedRows}: column 8o+i in nibble i, the top nibble flipped to
 * signed).
 *
 * <p>Kernel ({@link #groups}). Per block, the nibbles sum as integers against the row rounded to int8
 * ({@link #nibbles}); the fifth bits are taken one column at a time from the mask ({@code maskedBits(h, 1 << j)},
 * 2^j, or -2^31 for bit 31) against the activation times 16 / 2^j (float); Q5_0's offset of 16 is a
 * per-block constant times the block's activation sum; the block sum is scaled by d, and the mins add
 * {@code m} times the block's activation sum.
 */
final class InterleavedSmallBlocks {

    /**
     * Whether the fifth bits are summed through tables: 16 sums of subsets of four columns' activations,
     * one float vector, indexed by four bits of the mask at a time (one lane permutation for four
     * columns instead of four extractions). Needs vectors of 16 lanes; with 8, the bits are taken one by one.
     */
    static final boolean FIFTH_BIT_TABLES = VectorSpecs.LANES == 16;
    /** Floats of fifth-bit data per column: a 16-entry table per four columns, or one scaled activation. */
    static final int FIFTH_BIT_FLOATS = FIFTH_BIT_TABLES ? 4 : 1;

    private InterleavedSmallBlocks() {
    }

    static boolean isSmallBlock(DType dtype) {
        return dtype == DType.Q4_1 || dtype == DType.Q5_0 || dtype == DType.Q5_1;
    }

    private static boolean hasMin(DType dtype) {
        return dtype != DType.Q5_0;
    }

    /** Q5_0 and Q5_1: the types whose values have a fifth bit beside the nibble. */
    static boolean hasFifthBits(DType dtype) {
        return dtype == DType.Q5_0 || dtype == DType.Q5_1;
    }

    /** Offset of the fifth-bit masks in an interleaved block. */
    private static long fifthBitsAt(DType dtype) {
        return hasMin(dtype) ? 2L * SCALE_BYTES : SCALE_BYTES;
    }

    /** Offset of the nibble octets in an interleaved block. */
    private static long octetsAt(DType dtype) {
        return fifthBitsAt(dtype) + (hasFifthBits(dtype) ? LANE_BYTES : 0);
    }

    /** Offset of the 16 nibble bytes in a GGUF block. */
    private static int fileQuantsAt(DType dtype) {
        return switch (dtype) {
            case Q4_1 -> 4;
            case Q5_0 -> 6;
            default -> 8;
        };
    }

    /** As {@link InterleavedRows#interleave}; false if a scale or min is infinite or NaN. */
    static boolean interleave(DType dtype, MemorySegment src, MemorySegment dst, int k, int g0, int g1) {
        int blocks = k / BLOCK;
        int fileBlock = dtype.blockBytes();
        long groupBlock = InterleavedRows.groupBlockBytes(dtype);
        for (int g = g0; g < g1; g++) {
            for (int r = 0; r < ROWS; r++) {
                long rowOff = ((long) g * ROWS + r) * blocks * fileBlock;
                for (int b = 0; b < blocks; b++) {
                    long from = rowOff + (long) b * fileBlock;
                    long to = ((long) g * blocks + b) * groupBlock;
                    short d = src.get(I16, from);
                    short m = hasMin(dtype) ? src.get(I16, from + 2) : 0;
                    if ((d & 0x7C00) == 0x7C00 || (m & 0x7C00) == 0x7C00) {
                        return false;
                    }
                    dst.set(I16, to + (long) r * Short.BYTES, d);
                    if (hasMin(dtype)) {
                        dst.set(I16, to + SCALE_BYTES + (long) r * Short.BYTES, m);
                    }
                    if (hasFifthBits(dtype)) {
                        dst.set(I32, to + fifthBitsAt(dtype) + (long) r * Integer.BYTES,
                                src.get(I32, from + fileQuantsAt(dtype) - 4));
                    }
                    InterleavedRows.interleaveQ4(src, from + fileQuantsAt(dtype), dst,
                            to + octetsAt(dtype) + (long) r * Integer.BYTES);
                }
            }
        }
        return true;
    }

    /**
     * Prepares token row {@code x} (k values) for {@link #groups}: {@code high} ({@link #FIFTH_BIT_FLOATS}
     * per column) gets, per four columns, the table of 16 times the sums of their activations over each
     * subset (entry n: the columns whose bit is set in n), or without tables each activation times
     * 16 / 2^j (j its column in the block; negated for j = 31, whose bit reads as -2^31); {@code sums}
     * gets each block's activation sum and {@code offsets} each block's constant part (Q5_0's offset of 16,
     * or Q4_0's of 8, times that sum). The nibbles take the row rounded by {@link Int8Activations}. Also
     * for Q4_0 ({@link #nibbles} alone); types without fifth bits leave {@code high} untouched (it may be empty).
     */
    static void prepare(DType dtype, float[] x, int k, float[] high, float[] offsets, float[] sums) {
        float base = switch (dtype) {
            case Q5_0 -> 16f;
            case Q4_0 -> InterleavedRows.Q4_OFFSET;
            default -> 0f;
        };
        boolean fifthBits = hasFifthBits(dtype);
        if (fifthBits && FIFTH_BIT_TABLES) {
            for (int quad = 0; quad < k / 4; quad++) {
                int t = quad * 16;
                high[t] = 0f;
                for (int n = 1; n < 16; n++) {
                    int j = Integer.numberOfTrailingZeros(n);
                    high[t + n] = high[t + (n & (n - 1))] + 16f * x[4 * quad + j];
                }
            }
        }
        for (int b = 0; b < k / BLOCK; b++) {
            float sum = 0;
            for (int c = b * BLOCK; c < (b + 1) * BLOCK; c++) {
                int j = c % BLOCK;
                sum += x[c];
                if (fifthBits && !FIFTH_BIT_TABLES) {
                    high[c] = Math.scalb(j == 31 ? -x[c] : x[c], 4 - j);
                }
            }
            sums[b] = sum;
            offsets[b] = base * sum;
        }
    }

    /**
     * One token row against groups [g0, g1); high, offsets and sums from {@link #prepare}, pairs and
     * rowScales from {@link Int8Activations#quantize}. The nibbles, the fifth bits and the mins of a group
     * are three passes over its blocks, each a small method that C2 compiles whole with every vector in a
     * register (as one method it passed C2's inlining limits and its vector conversions ran as allocating
     * Java code); a group's blocks are still in cache for the second and third pass.
     */
    static void groups(DType dtype, MemorySegment w, int blocks, int[] pairs, float[] rowScales, float[] high,
                       float[] offsets, float[] sums, MemorySegment out, long out0, int g0, int g1) {
        long blockBytes = InterleavedRows.groupBlockBytes(dtype);
        float[] acc = new float[ROWS];
        for (int g = g0; g < g1; g++) {
            long base = g * blocks * blockBytes;
            nibbles(w, base, blocks, blockBytes, octetsAt(dtype), pairs, rowScales, offsets, acc);
            if (hasFifthBits(dtype) && FIFTH_BIT_TABLES) {
                fifthBitTables(w, base, blocks, blockBytes, fifthBitsAt(dtype), high, acc);
            } else if (hasFifthBits(dtype)) {
                fifthBits(w, base, blocks, blockBytes, fifthBitsAt(dtype), high, acc);
            }
            if (hasMin(dtype)) {
                mins(w, base, blocks, blockBytes, sums, acc);
            }
            FloatVector.fromArray(FLOATS, acc, 0).intoMemorySegment(out, out0 + (long) g * ROWS * Float.BYTES, LE);
        }
    }

    /**
     * acc = d * (the nibbles' products minus the block's constant part {@code offsets[b]}), over a group's
     * blocks whose octets start {@code octetsAt} bytes into each block (Q4_0's layout is this one without
     * mins or fifth bits); the row rounded by {@link Int8Activations#quantize} (octet pairs). An octet read
     * as 16-bit lanes holds nibbles 0-3 (low lane) and 4-7 (high lane) of a row: shifts by 0, 4, 8 and 12,
     * each followed by a mask of every lane's low nibble, give columns i and 4 + i of all rows, each unsigned
     * (the top nibble, stored flipped, flipped back), against pair i; a lane sums 16 products of at most
     * 15 * 127 per block, exactly.
     */
    static void nibbles(MemorySegment w, long base, int blocks, long blockBytes, long octetsAt, int[] pairs,
                        float[] rowScales, float[] offsets, float[] acc) {
        // Undoes the flip of the top nibble (in the high lane only): unsigned like the others.
        IntVector topFlip = IntVector.broadcast(INTS, 8 << 16);
        IntVector nibbles = IntVector.broadcast(INTS, NIBBLES);
        FloatVector sum = FloatVector.zero(FLOATS);
        for (int b = 0; b < blocks; b++) {
            long bo = base + b * blockBytes;
            ShortVector s = ShortVector.zero(SHORT_PAIRS);
            for (int o = 0; o < BLOCK / 8; o++) {
                IntVector q = lanes(w, bo + octetsAt + (long) o * LANE_BYTES);
                int pa = 16 * b + 4 * o;
                // Activation pairs broadcast to every int lane (written out: as a helper method the
                // broadcast sat past C2's inlining depth and ran on boxed vectors).
                ShortVector a0 = IntVector.broadcast(INTS, pairs[pa]).reinterpretAsShorts();
                ShortVector a1 = IntVector.broadcast(INTS, pairs[pa + 1]).reinterpretAsShorts();
                ShortVector a2 = IntVector.broadcast(INTS, pairs[pa + 2]).reinterpretAsShorts();
                ShortVector a3 = IntVector.broadcast(INTS, pairs[pa + 3]).reinterpretAsShorts();
                // Fields isolated by 32-bit shifts and a mask per 16-bit lane (C2 emits 16-bit shifts with
                // their count in a register, two more instructions each).
                s = s.add(q.and(nibbles).reinterpretAsShorts().mul(a0))
                        .add(q.lanewise(VectorOperators.LSHR, 4).and(nibbles).reinterpretAsShorts().mul(a1))
                        .add(q.lanewise(VectorOperators.LSHR, 8).and(nibbles).reinterpretAsShorts().mul(a2))
                        .add(q.lanewise(VectorOperators.LSHR, 12).and(nibbles).lanewise(VectorOperators.XOR, topFlip)
                                .reinterpretAsShorts().mul(a3));
            }
            // Each row's two 16-bit lanes added as ints.
            IntVector t = s.reinterpretAsInts();
            t = t.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                    .add(t.lanewise(VectorOperators.ASHR, 16));
            sum = ((FloatVector) t.convert(VectorOperators.I2F, 0)).mul(rowScales[b]).sub(offsets[b])
                    .fma(InterleavedRows.scales(w, bo), sum);
        }
        sum.intoArray(acc, 0);
    }

    /** The low nibble of both 16-bit lanes of an int lane. */
    private static final int NIBBLES = 0x000F000F;

    /** acc += d * the fifth bits' products, over a group's blocks. */
    private static void fifthBits(MemorySegment w, long base, int blocks, long blockBytes, long fifthAt,
                                  float[] high, float[] acc) {
        FloatVector sum = FloatVector.fromArray(FLOATS, acc, 0);
        for (int b = 0; b < blocks; b++) {
            long bo = base + b * blockBytes;
            IntVector bits = lanes(w, bo + fifthAt);
            FloatVector s0 = FloatVector.zero(FLOATS);
            FloatVector s1 = s0;
            int c = b * BLOCK;
            for (int j = 0; j < BLOCK; j += 2) {
                s0 = maskedBits(bits, 1 << j).fma(FloatVector.broadcast(FLOATS, high[c + j]), s0);
                s1 = maskedBits(bits, 2 << j).fma(FloatVector.broadcast(FLOATS, high[c + j + 1]), s1);
            }
            sum = s0.add(s1).fma(InterleavedRows.scales(w, bo), sum);
        }
        sum.intoArray(acc, 0);
    }

    /** {@link #fifthBits} through the tables of {@link #prepare}: four bits of the mask index one table. */
    private static void fifthBitTables(MemorySegment w, long base, int blocks, long blockBytes, long fifthAt,
                                       float[] tables, float[] acc) {
        FloatVector sum = FloatVector.fromArray(FLOATS, acc, 0);
        for (int b = 0; b < blocks; b++) {
            long bo = base + b * blockBytes;
            IntVector bits = lanes(w, bo + fifthAt);
            FloatVector s0 = FloatVector.zero(FLOATS);
            FloatVector s1 = s0;
            int t = b * BLOCK * FIFTH_BIT_FLOATS;
            for (int q = 0; q < BLOCK / 4; q += 2) {
                IntVector table0 = FloatVector.fromArray(FLOATS, tables, t + 16 * q).reinterpretAsInts();
                IntVector table1 = FloatVector.fromArray(FLOATS, tables, t + 16 * q + 16).reinterpretAsInts();
                s0 = s0.add(bits.lanewise(VectorOperators.LSHR, 4 * q).and(0xF).selectFrom(table0).reinterpretAsFloats());
                s1 = s1.add(bits.lanewise(VectorOperators.LSHR, 4 * q + 4).and(0xF).selectFrom(table1)
                        .reinterpretAsFloats());
            }
            sum = s0.add(s1).fma(InterleavedRows.scales(w, bo), sum);
        }
        sum.intoArray(acc, 0);
    }

    /** acc += m * the block's activation sum, over a group's blocks. */
    private static void mins(MemorySegment w, long base, int blocks, long blockBytes, float[] sums, float[] acc) {
        FloatVector sum = FloatVector.fromArray(FLOATS, acc, 0);
        for (int b = 0; b < blocks; b++) {
            sum = InterleavedRows.scales(w, base + b * blockBytes + SCALE_BYTES)
                    .fma(FloatVector.broadcast(FLOATS, sums[b]), sum);
        }
        sum.intoArray(acc, 0);
    }

    /**
     * Writes row r of group g, block b back in the GGUF layout to {@code dst} at {@code at}: the exact
     * inverse of {@link #interleave}, so widening reuses the file layout's widener and gives its values.
     */
    private static void fileBlock(DType dtype, MemorySegment w, int g, int k, int r, int b, MemorySegment dst,
                                  long at) {
        long bo = ((long) g * (k / BLOCK) + b) * InterleavedRows.groupBlockBytes(dtype);
        dst.set(I16, at, w.get(I16, bo + (long) r * Short.BYTES));
        if (hasMin(dtype)) {
            dst.set(I16, at + 2, w.get(I16, bo + SCALE_BYTES + (long) r * Short.BYTES));
        }
        if (hasFifthBits(dtype)) {
            dst.set(I32, at + fileQuantsAt(dtype) - 4, w.get(I32, bo + fifthBitsAt(dtype) + (long) r * Integer.BYTES));
        }
        // Locals, not a small array: that was allocated per block (9 GB of garbage in a Qwen2 benchmark's
        // prefill on the Vector API backend, which reads these rows for its GEMM), and the young
        // collections it caused promoted enough to double the old generation.
        long lanes = bo + octetsAt(dtype) + (long) r * Integer.BYTES;
        long o0 = octet(w, lanes);
        long o1 = octet(w, lanes + LANE_BYTES);
        long o2 = octet(w, lanes + 2L * LANE_BYTES);
        long o3 = octet(w, lanes + 3L * LANE_BYTES);
        dst.set(I64, at + fileQuantsAt(dtype), o0 | o2 << 4);
        dst.set(I64, at + fileQuantsAt(dtype) + 8, o1 | o3 << 4);
    }

    /** One word of the interleaved layout back to its eight nibbles, one per byte. */
    private static long octet(MemorySegment w, long at) {
        int v = w.get(I32, at) ^ InterleavedRows.Q4_SIGNED_TOP;
        return Long.expand(Integer.toUnsignedLong(v), 0x0F0F0F0F0F0F0F0FL);
    }

    /** The file-layout widener of these types, over rows rebuilt from the interleaved layout. */
    static WeightRows rows(DType dtype) {
        WeightRows file = SmallBlockRows.of(dtype);
        ThreadLocal<MemorySegment> rowCopy = new ThreadLocal<>();
        return (w, row, k, dst, off) -> {
            long rowBytes = dtype.byteSize(k);
            MemorySegment copy = rowCopy.get();
            if (copy == null || copy.byteSize() < rowBytes) {
                copy = MemorySegment.ofArray(new long[Math.toIntExact((rowBytes + 7) / 8)]);
                rowCopy.set(copy);
            }
            for (int b = 0; b < k / BLOCK; b++) {
                fileBlock(dtype, w, row / ROWS, k, row % ROWS, b, copy, (long) b * dtype.blockBytes());
            }
            file.widen(copy, 0, k, dst, off);
        };
    }

    /** Value (row, column) of an interleaved tensor, for tests and slow paths. */
    static float value(DType dtype, MemorySegment w, int k, int row, int col) {
        MemorySegment block = MemorySegment.ofArray(new long[(dtype.blockBytes() + 7) / 8]);
        fileBlock(dtype, w, row / ROWS, k, row % ROWS, col / BLOCK, block, 0);
        float[] values = new float[BLOCK];
        Dequantizer.decodeBlock(dtype, block, 0, values, 0);
        return values[col % BLOCK];
    }
}
