package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.InterleavedRows.LANE_BYTES;
import static io.llmnpu.backend.cpu.InterleavedRows.ROWS;
import static io.llmnpu.backend.cpu.InterleavedRows.SCALE_BYTES;
import static io.llmnpu.backend.cpu.InterleavedRows.lanes;
import static io.llmnpu.backend.cpu.InterleavedRows.maskedBits;
import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;
import static io.llmnpu.backend.cpu.VectorSpecs.I16;
import static io.llmnpu.backend.cpu.VectorSpecs.I32;
import static io.llmnpu.backend.cpu.VectorSpecs.INTS;
import static io.llmnpu.backend.cpu.VectorSpecs.LE;
import static io.llmnpu.backend.cpu.VectorSpecs.SHORT_PAIRS;
import static io.llmnpu.backend.cpu.VectorSpecs.lanesOf;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Dequantizer;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The {@link InterleavedRows} layout for Q4_K, Q5_K and Q6_K weights, and their decode kernels.
 *
 * <p>Layout. A super-block of 256 values is a sequence of units, each an F16 or a 4-byte word at a fixed
 * offset of the GGUF block; group g's super-block b holds each unit of its {@link #ROWS} rows side by
 * side (one 16-bit value or one int lane per row), in this order (byte offsets in the GGUF block):
 * <ul>
 *   <li>Q4_K: d (0), dmin (2), the three words of 6-bit scales and mins (4, 8, 12), the 32 words of
 *       nibbles (16 ..).</li>
 *   <li>Q5_K: as Q4_K, with the 8 words of fifth bits (16 ..) before the 32 words of nibbles (48 ..).</li>
 *   <li>Q6_K: d (208), the 4 words of signed scales (192 ..), the 32 words of low bits (0 ..), the 16
 *       words of high bits (128 ..).</li>
 * </ul>
 * The bytes inside a word stay as in the file, so the tensor keeps its size and every field is isolated
 * in all rows at once with masks and shifts, as for Q4_0.
 *
 * <p>Kernels. Q4_K and Q6_K take the token row quantized to int8 ({@link Int8Activations}) and sum
 * exact 16-bit products per sub-block, two 16-bit lanes per row, as llama.cpp's k-quant dot products
 * do with 8-bit activations; each sub-block's integer sum is then scaled once (the activation block's
 * scale, then its scale vector). Q5_K stays in float: a word of nibbles holds columns 4i..4i+3 of two
 * 32-value sub-blocks, each field is taken where it lies ({@link InterleavedRows#maskedBits}), as an
 * unsigned value times a power of two, against an activation scaled down by that power (exact). In
 * every kernel the sub-block's constant part (Q4_K/Q5_K mins, Q6_K's offset of 32) is the activations'
 * sum over the sub-block times a per-row constant, taken once per sub-block, not per value.
 */
final class InterleavedKQuants {

    static final int QK = 256;

    private static final int[] Q4K_UNITS = units(new int[] {0, 2}, 4, 3, 16, 32);
    private static final int[] Q5K_UNITS = units(new int[] {0, 2}, 4, 3, 16, 8, 48, 32);
    private static final int[] Q6K_UNITS = units(new int[] {208}, 192, 4, 0, 32, 128, 16);
    /** Unit u is a 16-bit value where u is below this (the F16 scales come first), else an int. */
    private static final int Q45K_SHORTS = 2;
    private static final int Q6K_SHORTS = 1;

    private InterleavedKQuants() {
    }

    static boolean isKQuant(DType dtype) {
        return dtype == DType.Q4_K || dtype == DType.Q5_K || dtype == DType.Q6_K;
    }

    /** Source offsets of the units: the shorts, then runs of words given as (first offset, count) pairs. */
    private static int[] units(int[] shorts, int... runs) {
        int count = shorts.length;
        for (int i = 1; i < runs.length; i += 2) {
            count += runs[i];
        }
        int[] u = new int[count];
        System.arraycopy(shorts, 0, u, 0, shorts.length);
        int at = shorts.length;
        for (int i = 0; i < runs.length; i += 2) {
            for (int j = 0; j < runs[i + 1]; j++) {
                u[at++] = runs[i] + 4 * j;
            }
        }
        return u;
    }

    private static int[] unitsOf(DType dtype) {
        return switch (dtype) {
            case Q4_K -> Q4K_UNITS;
            case Q5_K -> Q5K_UNITS;
            default -> Q6K_UNITS;
        };
    }

    private static int shortsOf(DType dtype) {
        return dtype == DType.Q6_K ? Q6K_SHORTS : Q45K_SHORTS;
    }

    /** Offset in a group's super-block of row r's copy of unit u. */
    private static long unitOffset(int shorts, int u, int r) {
        return u < shorts ? (long) u * SCALE_BYTES + (long) r * Short.BYTES
                : (long) shorts * SCALE_BYTES + (long) (u - shorts) * LANE_BYTES + (long) r * Integer.BYTES;
    }

    /** As {@link InterleavedRows#interleave}: false if a block's d or dmin is infinite or NaN. */
    static boolean interleave(DType dtype, MemorySegment src, MemorySegment dst, int k, int g0, int g1) {
        int[] units = unitsOf(dtype);
        int shorts = shortsOf(dtype);
        int blocks = k / QK;
        long blockBytes = dtype.blockBytes();
        long groupBlockBytes = ROWS * blockBytes;
        for (int g = g0; g < g1; g++) {
            for (int r = 0; r < ROWS; r++) {
                long rowOff = ((long) g * ROWS + r) * blocks * blockBytes;
                for (int b = 0; b < blocks; b++) {
                    long from = rowOff + b * blockBytes;
                    long to = ((long) g * blocks + b) * groupBlockBytes;
                    for (int u = 0; u < units.length; u++) {
                        if (u < shorts) {
                            short h = src.get(I16, from + units[u]);
                            if ((h & 0x7C00) == 0x7C00) {
                                return false;
                            }
                            dst.set(I16, to + unitOffset(shorts, u, r), h);
                        } else {
                            dst.set(I32, to + unitOffset(shorts, u, r), src.get(I32, from + units[u]));
                        }
                    }
                }
            }
        }
        return true;
    }

    /** Copies row r's GGUF block b back out of group g (the inverse of {@link #interleave}). */
    private static void fileBlock(DType dtype, MemorySegment w, int g, int k, int r, int b, MemorySegment block) {
        int[] units = unitsOf(dtype);
        int shorts = shortsOf(dtype);
        int blocks = k / QK;
        long from = ((long) g * blocks + b) * ROWS * dtype.blockBytes();
        for (int u = 0; u < units.length; u++) {
            if (u < shorts) {
                block.set(I16, units[u], w.get(I16, from + unitOffset(shorts, u, r)));
            } else {
                block.set(I32, units[u], w.get(I32, from + unitOffset(shorts, u, r)));
            }
        }
    }

    /**
     * Rows of interleaved weights widened to F32 for the prefill GEMM, which takes them row by row as for
     * the file layout: a row's blocks are copied back to the file layout (a byte[] kept per thread) and
     * widened by {@link KQuantRows}, so the values, and the GEMM's speed, are the file layout's.
     */
    static WeightRows rows(DType dtype) {
        ThreadLocal<byte[]> rowCopy = new ThreadLocal<>();
        return (w, row, k, dst, off) -> {
            int rowBytes = Math.toIntExact(dtype.byteSize(k));
            byte[] bytes = rowCopy.get();
            if (bytes == null || bytes.length < rowBytes) {
                bytes = new byte[rowBytes];
                rowCopy.set(bytes);
            }
            MemorySegment copy = MemorySegment.ofArray(bytes);
            for (int b = 0; b < k / QK; b++) {
                fileBlock(dtype, w, row / ROWS, k, row % ROWS, b, copy.asSlice((long) b * dtype.blockBytes()));
            }
            switch (dtype) {
                case Q4_K -> KQuantRows.widenQ45K(bytes, k, dst, off, false);
                case Q5_K -> KQuantRows.widenQ45K(bytes, k, dst, off, true);
                default -> KQuantRows.widenQ6K(bytes, k, dst, off);
            }
        };
    }

    /** Value (row, column) of an interleaved tensor, for tests and slow paths. */
    static float value(DType dtype, MemorySegment w, int k, int row, int col) {
        MemorySegment block = MemorySegment.ofArray(new byte[dtype.blockBytes()]);
        fileBlock(dtype, w, row / ROWS, k, row % ROWS, col / QK, block);
        float[] values = new float[QK];
        Dequantizer.decodeBlock(dtype, block, 0, values, 0);
        return values[col % QK];
    }

    /**
     * Prepares token row {@code x} (k values) for the Q5_K kernel: {@code sums} gets each 32-value
     * sub-block's sum of the activations, then each activation is scaled down by the power of two its
     * field comes out with.
     */
    static void prepareQ5K(float[] x, int k, float[] sums) {
        for (int s = 0; s < k / 32; s++) {
            float sum = 0;
            for (int c = s * 32; c < (s + 1) * 32; c++) {
                sum += x[c];
            }
            sums[s] = sum;
        }
        for (int c = 0; c < k; c++) {
            x[c] = Math.scalb(x[c], -8 * (c % 4));
        }
    }

    /**
     * One token row against groups [g0, g1) of Q4_K weights; the row quantized by
     * {@link Int8Activations#quantize} into {@code pairs}, {@code rowScales} and {@code sums}. A word of
     * nibbles read as 16-bit lanes holds, per lane, the low and high nibbles of two columns: no shift
     * and the shifts by 8, 4 and 12, each followed by a mask of every lane's low nibble, give columns 4i
     * (+ 2) and 4i + 1 (+ 3) of sub-block 2p, then the same columns of sub-block 2p + 1; each sub-block sums
     * 16 products (at most 15 * 127 each) per lane. The shifts are 32-bit: C2 emits 16-bit lane shifts
     * with their count in a vector register (two more instructions each), 32-bit ones with an immediate.
     *
     * <p>The products are {@link #q4kProducts}, a method C2 must compile on its own (the JVM flag
     * {@code -XX:CompileCommand=dontinline,io.llmnpu.backend.cpu.InterleavedKQuants::q4kProducts}, which the
     * launcher passes). C2 inlines a Vector API method only while its parse of a method has made fewer than
     * 18,000 nodes (NodeCountInliningCutoff, fixed in product JVMs); past that it puts the inlining off, the
     * vectors those methods return have no exact class, and operations on them are inlined behind class
     * checks that allocate an object per vector. With the products inlined this method's parse ends near
     * 25,600 nodes, the products alone near 12,100 (-XX:+LogCompilation), and where the budget ran out varied
     * with the profiles: about one TinyLlama Q4_K_M process in three (3 of 9) decoded at a sixth of its speed
     * with 40,000 young collections, their compilations putting off inlining from the tail's second
     * conversion on; with the products compiled alone none of 12 did. The hand-over through {@code products}
     * and the call cost 5-12% (JMH, one thread, from DRAM and in cache).
     */
    static void q4kGroups(MemorySegment w, int blocks, int[] pairs, float[] rowScales, float[] sums, float[] scales,
                          int[] products, MemorySegment out, long out0, int g0, int g1) {
        long blockBytes = (long) ROWS * DType.Q4_K.blockBytes();
        long quantsAt = 2L * SCALE_BYTES + 3L * LANE_BYTES;
        int carry0 = 2 * SCALE_FLOATS;
        // Scales run one block ahead of the products. Taken at the start of their own block, they put the
        // loads of its first lines, when those come from DRAM, on the path of everything after them: from
        // DRAM a 5632 x 2048 product ran at 11.7 GB/s (JMH MatvecBenchmark, one thread), 19.1 one ahead.
        int block = 0;
        int total = (g1 - g0) * blocks;
        if (total > 0) {
            kScales(w, g0 * blocks * blockBytes, scales, 0);
        }
        for (int g = g0; g < g1; g++) {
            long base = g * blocks * blockBytes;
            // Sums go from one sub-block pair to the next through scales[carry0 ..], not in vector variables
            // (a store and a load per pair cost nothing measurable), and the mins go straight into the same
            // sum, negated: fewer vector operations for C2's node budget (see above).
            java.util.Arrays.fill(scales, carry0, carry0 + ROWS, 0f);
            for (int b = 0; b < blocks; b++) {
                long bo = base + b * blockBytes;
                // This block's scales were taken during the one before; take the next block's now (the
                // blocks of [g0, g1) lie end to end), into the other of the two places at the front. (Places
                // for every block of a group, 22 KB for a 5632-wide row, cost a tenth of decode speed.)
                int s0 = (block & 1) * SCALE_FLOATS;
                if (++block < total) {
                    kScales(w, bo + blockBytes, scales, SCALE_FLOATS - s0);
                }
                q4kProducts(w, bo + quantsAt, pairs, b * QK / 2, products);
                for (int p = 0; p < 4; p++) {
                    FloatVector sum = FloatVector.fromArray(FLOATS, scales, carry0);
                    int sub = 8 * b + 2 * p;
                    // Each row's two 16-bit lanes added as ints. (Written out: helper methods for this and the
                    // broadcasts were left as calls on boxed vectors, past C2's inlining depth: 0.6x.)
                    IntVector l = IntVector.fromArray(INTS, products, 2 * p * ROWS);
                    IntVector h = IntVector.fromArray(INTS, products, (2 * p + 1) * ROWS);
                    l = l.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                            .add(l.lanewise(VectorOperators.ASHR, 16));
                    h = h.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                            .add(h.lanewise(VectorOperators.ASHR, 16));
                    sum = ((FloatVector) l.convert(VectorOperators.I2F, 0)).mul(rowScales[sub])
                            .fma(FloatVector.fromArray(FLOATS, scales, s0 + 2 * p * ROWS), sum);
                    sum = ((FloatVector) h.convert(VectorOperators.I2F, 0)).mul(rowScales[sub + 1])
                            .fma(FloatVector.fromArray(FLOATS, scales, s0 + (2 * p + 1) * ROWS), sum);
                    sum = FloatVector.fromArray(FLOATS, scales, s0 + (8 + 2 * p) * ROWS)
                            .fma(FloatVector.broadcast(FLOATS, -sums[sub]), sum);
                    sum = FloatVector.fromArray(FLOATS, scales, s0 + (9 + 2 * p) * ROWS)
                            .fma(FloatVector.broadcast(FLOATS, -sums[sub + 1]), sum);
                    sum.intoArray(scales, carry0);
                }
            }
            FloatVector.fromArray(FLOATS, scales, carry0)
                    .intoMemorySegment(out, out0 + (long) g * ROWS * Float.BYTES, LE);
        }
    }

    /**
     * The 16-bit products of one Q4_K group block's nibbles ({@code quants}: its 32 lines) with the
     * activation pairs from {@code pairs[at ..]}, into {@code products}: sub-block pair p's low-nibble sums
     * at [2p ROWS, (2p + 1) ROWS), its high-nibble sums after them, each int lane holding a row's two
     * 16-bit partial sums. (Why this is a method of its own, and must not be inlined: see {@link #q4kGroups}.)
     */
    private static void q4kProducts(MemorySegment w, long quants, int[] pairs, int at, int[] products) {
        IntVector nibbles = IntVector.fromArray(INTS, NIBBLE_LANES, 0);
        for (int p = 0; p < 4; p++) {
            ShortVector low = ShortVector.zero(SHORT_PAIRS);
            ShortVector high = low;
            for (int i = 0; i < 8; i++) {
                IntVector q = lanes(w, quants + (long) (8 * p + i) * LANE_BYTES);
                int pa = at + 32 * p + 2 * i;
                // Activation pairs broadcast to every int lane (written out, not a helper: see q4kGroups).
                ShortVector a0 = IntVector.broadcast(INTS, pairs[pa]).reinterpretAsShorts();
                ShortVector a1 = IntVector.broadcast(INTS, pairs[pa + 1]).reinterpretAsShorts();
                ShortVector b0 = IntVector.broadcast(INTS, pairs[pa + 16]).reinterpretAsShorts();
                ShortVector b1 = IntVector.broadcast(INTS, pairs[pa + 17]).reinterpretAsShorts();
                low = low.add(q.and(nibbles).reinterpretAsShorts().mul(a0))
                        .add(q.lanewise(VectorOperators.LSHR, 8).and(nibbles).reinterpretAsShorts().mul(a1));
                high = high.add(q.lanewise(VectorOperators.LSHR, 4).and(nibbles).reinterpretAsShorts().mul(b0))
                        .add(q.lanewise(VectorOperators.LSHR, 12).and(nibbles).reinterpretAsShorts().mul(b1));
            }
            low.reinterpretAsInts().intoArray(products, 2 * p * ROWS);
            high.reinterpretAsInts().intoArray(products, (2 * p + 1) * ROWS);
        }
    }

    /** The low nibble of both 16-bit lanes of an int lane. */
    private static final int NIBBLES = 0x000F000F;
    /** {@link #NIBBLES} in every lane (see {@link VectorSpecs#lanesOf}: seen rematerialised before each use). */
    private static final int[] NIBBLE_LANES = lanesOf(NIBBLES);
    /** The low byte of both 16-bit lanes of an int lane. */
    private static final int LOW_BYTES = 0x00FF00FF;

    /**
     * The Q5_K counterpart of {@link #q4kGroups}: each nibble gets its fifth bit before it is taken. The
     * scales of all the group's blocks are taken first; then each sub-block index is one call
     * ({@link #q5kPair}) over all blocks. As one method the kernel outgrew C2's inlining budget (its vector
     * operations were then made as real calls on boxed vectors, five times slower), and a call per block
     * and sub-block cost as much as the work in it.
     */
    static void q5kGroups(MemorySegment w, int blocks, float[] x, float[] sums, float[] scales, MemorySegment out,
                          long out0, int g0, int g1) {
        long blockBytes = (long) ROWS * DType.Q5_K.blockBytes();
        float[] acc = new float[2 * ROWS];
        for (int g = g0; g < g1; g++) {
            long base = g * blocks * blockBytes;
            for (int b = 0; b < blocks; b++) {
                kScales(w, base + b * blockBytes, scales, b * SCALE_FLOATS);
            }
            java.util.Arrays.fill(acc, 0f);
            for (int pair = 0; pair < 4; pair++) {
                q5kPair(w, base, blocks, pair, x, sums, scales, acc);
            }
            FloatVector.fromArray(FLOATS, acc, 0).sub(FloatVector.fromArray(FLOATS, acc, ROWS))
                    .intoMemorySegment(out, out0 + (long) g * ROWS * Float.BYTES, LE);
        }
    }

    /**
     * Sub-blocks 2 pair and 2 pair + 1 of every block of a Q5_K group, which share their nibble words (low
     * and high nibbles): acc[0, ROWS) gets the products, acc[ROWS, 2 ROWS) the mins. The fifth bit of
     * sub-block s is bit s of the qh byte. (The four columns of a word go through a loop, not written
     * out: written out, the method passed C2's NodeCountInliningCutoff.)
     */
    private static void q5kPair(MemorySegment w, long base, int blocks, int pair, float[] x, float[] sums,
                                float[] scales, float[] acc) {
        long blockBytes = (long) ROWS * DType.Q5_K.blockBytes();
        long highAt = 2L * SCALE_BYTES + 3L * LANE_BYTES;
        long quantsAt = highAt + 8L * LANE_BYTES + (long) (8 * pair) * LANE_BYTES;
        int sub = 2 * pair;
        FloatVector sum = FloatVector.fromArray(FLOATS, acc, 0);
        FloatVector mins = FloatVector.fromArray(FLOATS, acc, ROWS);
        for (int b = 0; b < blocks; b++) {
            long bo = base + b * blockBytes;
            int c = b * QK + 32 * sub;
            FloatVector a = FloatVector.zero(FLOATS);
            FloatVector a2 = a;
            for (int i = 0; i < 8; i++) {
                IntVector qh = lanes(w, bo + highAt + (long) i * LANE_BYTES).lanewise(VectorOperators.LSHR, sub);
                IntVector nibbles = lanes(w, bo + quantsAt + (long) i * LANE_BYTES);
                IntVector q = nibbles.and(0x0F0F0F0F).or(qh.and(0x01010101).lanewise(VectorOperators.LSHL, 4));
                IntVector r = nibbles.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F)
                        .or(qh.and(0x02020202).lanewise(VectorOperators.LSHL, 3));
                int ci = c + 4 * i;
                for (int j = 0; j < 4; j++) {
                    int mask = 0x1F << (8 * j);
                    a = maskedBits(q, mask).fma(FloatVector.broadcast(FLOATS, x[ci + j]), a);
                    a2 = maskedBits(r, mask).fma(FloatVector.broadcast(FLOATS, x[ci + 32 + j]), a2);
                }
            }
            int at = b * SCALE_FLOATS + sub * ROWS;
            sum = a.fma(FloatVector.fromArray(FLOATS, scales, at), sum);
            sum = a2.fma(FloatVector.fromArray(FLOATS, scales, at + ROWS), sum);
            mins = FloatVector.fromArray(FLOATS, scales, at + 8 * ROWS)
                    .fma(FloatVector.broadcast(FLOATS, sums[8 * b + sub]), mins);
            mins = FloatVector.fromArray(FLOATS, scales, at + 9 * ROWS)
                    .fma(FloatVector.broadcast(FLOATS, sums[8 * b + sub + 1]), mins);
        }
        sum.intoArray(acc, 0);
        mins.intoArray(acc, ROWS);
    }

    /**
     * One token row against groups [g0, g1) of Q6_K weights; the row quantized by
     * {@link Int8Activations#quantize}. A group is two calls: {@link #q6kPart} takes the 16-bit sums of
     * all its blocks into {@code products}, {@link #q6kScaled} scales them into the row sums. As one method
     * per quarter of the columns, the scaling came last in a parse far past C2's budget (see
     * {@link #q4kGroups}), and in some processes its vectors were boxed: 3 of 11 TinyLlama Q4_K_M processes
     * made 2,400-4,000 young collections instead of about 700, allocated there (JFR); split, 10 of 10 made
     * 597-767. Fewer, longer calls read faster from DRAM: a call per quarter of the group ran 5-15% slower
     * than a call for the whole group, a call per quarter of 4 blocks 15-30% slower (JMH, one thread).
     */
    static void q6kGroups(MemorySegment w, int blocks, int[] pairs, float[] rowScales, float[] scales,
                          int[] products, MemorySegment out, long out0, int g0, int g1) {
        long blockBytes = (long) ROWS * DType.Q6_K.blockBytes();
        int carry0 = blocks * SCALE_FLOATS;
        for (int g = g0; g < g1; g++) {
            long base = g * blocks * blockBytes;
            for (int b = 0; b < blocks; b++) {
                q6Scales(w, base + b * blockBytes, scales, b * SCALE_FLOATS);
            }
            q6kPart(w, base, blocks, pairs, products);
            java.util.Arrays.fill(scales, carry0, carry0 + ROWS, 0f);
            q6kScaled(products, blocks, rowScales, scales, carry0);
            FloatVector.fromArray(FLOATS, scales, carry0)
                    .intoMemorySegment(out, out0 + (long) g * ROWS * Float.BYTES, LE);
        }
    }

    /**
     * The 16-bit sums of every block of a Q6_K group, less their offsets, into {@code products}: block b's
     * sub-block s (columns 16 s .. 16 s + 15, scale s; s = 8 h + 2 n + half) at vector 16 b + s. The group is read in four passes, one per half-block h and column half (a call of its own
     * for the reasons given at {@link #q5kGroups}). Value 128h + 32 n + l has its low bits in nibble
     * {@code n >> 1} of ql byte 64h + 32 (n & 1) + l and its high bits at 2 n of qh byte 32h + l, so two ql
     * words and one qh word give 16 values, each field moved into place by at most one shift. Read as
     * 16-bit lanes, each value is taken unsigned (0..63) from the low or high byte of a lane; a lane sums 8
     * products, which may wrap in 16 bits, but less the pair of offsets (32 times the activations, wrapped
     * the same way, at {@code pairs[k / 2 + 16 b + scale]}) it is the sum of the signed products (at most
     * 8 * 32 * 127 in magnitude), which 16 bits hold exactly. The inner loop's body alone parses to ~36,000
     * nodes, past C2's budget; smaller bodies (two sub-blocks a pass, or one) ran at half the speed in cache
     * (JMH), as the loads, shifts and loop overhead are then shared by fewer products.
     */
    private static void q6kPart(MemorySegment w, long base, int blocks, int[] pairs, int[] products) {
        long blockBytes = (long) ROWS * DType.Q6_K.blockBytes();
        int offsetsAt = blocks * QK / 2;
        IntVector lowBytes = IntVector.broadcast(INTS, LOW_BYTES);
        for (int part = 0; part < 4; part++) {
            int h = part >> 1;
            int half = part & 1;
            long low0At = SCALE_BYTES + 4L * LANE_BYTES + (long) (16 * h + 4 * half) * LANE_BYTES;
            long low1At = low0At + 8L * LANE_BYTES;
            long highAt = SCALE_BYTES + 36L * LANE_BYTES + (long) (8 * h + 4 * half) * LANE_BYTES;
            for (int b = 0; b < blocks; b++) {
                long bo = base + b * blockBytes;
                int c = b * QK + 128 * h + 16 * half;
                ShortVector s0 = ShortVector.zero(SHORT_PAIRS);
                ShortVector s1 = s0;
                ShortVector s2 = s0;
                ShortVector s3 = s0;
                for (int i = 0; i < 4; i++) {
                    long at = bo + (long) i * LANE_BYTES;
                    IntVector ql0 = lanes(w, at + low0At);
                    IntVector ql1 = lanes(w, at + low1At);
                    IntVector qh = lanes(w, at + highAt);
                    IntVector q0 = ql0.and(0x0F0F0F0F).or(qh.lanewise(VectorOperators.LSHL, 4).and(0x30303030));
                    IntVector q1 = ql1.and(0x0F0F0F0F).or(qh.lanewise(VectorOperators.LSHL, 2).and(0x30303030));
                    IntVector q2 = ql0.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(qh.and(0x30303030));
                    IntVector q3 = ql1.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F)
                            .or(qh.lanewise(VectorOperators.LSHR, 2).and(0x30303030));
                    int pa = (c + 4 * i) / 2;
                    // Activation pairs of columns c + 4 i + 32 n (written out, as in q4kGroups).
                    ShortVector a0 = IntVector.broadcast(INTS, pairs[pa]).reinterpretAsShorts();
                    ShortVector a1 = IntVector.broadcast(INTS, pairs[pa + 1]).reinterpretAsShorts();
                    ShortVector b0 = IntVector.broadcast(INTS, pairs[pa + 16]).reinterpretAsShorts();
                    ShortVector b1 = IntVector.broadcast(INTS, pairs[pa + 17]).reinterpretAsShorts();
                    ShortVector c0 = IntVector.broadcast(INTS, pairs[pa + 32]).reinterpretAsShorts();
                    ShortVector c1 = IntVector.broadcast(INTS, pairs[pa + 33]).reinterpretAsShorts();
                    ShortVector d0 = IntVector.broadcast(INTS, pairs[pa + 48]).reinterpretAsShorts();
                    ShortVector d1 = IntVector.broadcast(INTS, pairs[pa + 49]).reinterpretAsShorts();
                    s0 = s0.add(q0.and(lowBytes).reinterpretAsShorts().mul(a0))
                            .add(q0.lanewise(VectorOperators.LSHR, 8).and(lowBytes).reinterpretAsShorts().mul(a1));
                    s1 = s1.add(q1.and(lowBytes).reinterpretAsShorts().mul(b0))
                            .add(q1.lanewise(VectorOperators.LSHR, 8).and(lowBytes).reinterpretAsShorts().mul(b1));
                    s2 = s2.add(q2.and(lowBytes).reinterpretAsShorts().mul(c0))
                            .add(q2.lanewise(VectorOperators.LSHR, 8).and(lowBytes).reinterpretAsShorts().mul(c1));
                    s3 = s3.add(q3.and(lowBytes).reinterpretAsShorts().mul(d0))
                            .add(q3.lanewise(VectorOperators.LSHR, 8).and(lowBytes).reinterpretAsShorts().mul(d1));
                }
                // Sub-block n's scale index, which also places its offset pair and its sums.
                int sub = 16 * b + 8 * h + half;
                s0.sub(IntVector.broadcast(INTS, pairs[offsetsAt + sub]).reinterpretAsShorts())
                        .reinterpretAsInts().intoArray(products, sub * ROWS);
                s1.sub(IntVector.broadcast(INTS, pairs[offsetsAt + sub + 2]).reinterpretAsShorts())
                        .reinterpretAsInts().intoArray(products, (sub + 2) * ROWS);
                s2.sub(IntVector.broadcast(INTS, pairs[offsetsAt + sub + 4]).reinterpretAsShorts())
                        .reinterpretAsInts().intoArray(products, (sub + 4) * ROWS);
                s3.sub(IntVector.broadcast(INTS, pairs[offsetsAt + sub + 6]).reinterpretAsShorts())
                        .reinterpretAsInts().intoArray(products, (sub + 6) * ROWS);
            }
        }
    }

    /**
     * {@link #q6kPart}'s sums of a group added to scales[acc, acc + ROWS): each row's two 16-bit lanes added
     * as ints, converted, scaled by the activation block's scale (sub-block s of block b, 16 values, lies
     * in 32-value activation block 8 b + s / 2) and by the weights' d * scale (from {@link #q6Scales}).
     */
    private static void q6kScaled(int[] products, int blocks, float[] rowScales, float[] scales, int acc) {
        for (int b = 0; b < blocks; b++) {
            for (int s = 0; s < 16; s++) {
                IntVector t = IntVector.fromArray(INTS, products, (16 * b + s) * ROWS);
                t = t.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                        .add(t.lanewise(VectorOperators.ASHR, 16));
                // Carried in scales[acc ..], not in a vector variable (see q4kGroups).
                FloatVector sum = ((FloatVector) t.convert(VectorOperators.I2F, 0)).mul(rowScales[8 * b + s / 2])
                        .fma(FloatVector.fromArray(FLOATS, scales, b * SCALE_FLOATS + s * ROWS),
                                FloatVector.fromArray(FLOATS, scales, acc));
                sum.intoArray(scales, acc);
            }
        }
    }

    /** Floats per group block for {@link #kScales} and {@link #q6Scales}: 16 vectors of one per row. */
    static final int SCALE_FLOATS = 16 * ROWS;
    /** Ints of {@link #q4kGroups}' products of one group block: 8 vectors. */
    private static final int PRODUCT_INTS = 8 * ROWS;
    /** Floats past the scales (Q4_K: two blocks', Q6_K: a group's) where the kernels carry their sums. */
    static final int CARRY_FLOATS = ROWS;

    /** The length of the scales array the kernels take for rows of {@code k} values. */
    static int scalesLength(int k) {
        return Math.max(2, k / QK) * SCALE_FLOATS + CARRY_FLOATS;
    }

    /** The length of the products array the kernels take for rows of {@code k} values (Q6_K: 16 vectors a block). */
    static int productsLength(int k) {
        return Math.max(PRODUCT_INTS, k / QK * 16 * ROWS);
    }

    /**
     * Q4_K/Q5_K: the group block's d * scale of sub-blocks 0..7, then dmin * min of sub-blocks 0..7, each
     * one vector (one lane per row) into {@code dst}. Scale j < 4 is byte j of word 0 (min: of word 1),
     * low 6 bits; otherwise the low 4 bits of byte j - 4 of word 2 (min: its high 4 bits) and bits 6-7
     * of byte j - 4 of word 0 (min: of word 1). (Vectors go in and out through arrays: one passed to a
     * call that is not inlined would be boxed.)
     */
    private static void kScales(MemorySegment w, long bo, float[] dst, int at0) {
        FloatVector d = InterleavedRows.scales(w, bo);
        FloatVector dMin = InterleavedRows.scales(w, bo + SCALE_BYTES);
        long at = 2L * SCALE_BYTES;
        IntVector s0 = lanes(w, at + bo);
        IntVector s1 = lanes(w, at + bo + LANE_BYTES);
        IntVector s2 = lanes(w, at + bo + 2L * LANE_BYTES);
        for (int j = 0; j < 4; j++) {
            IntVector sc = s0.lanewise(VectorOperators.LSHR, 8 * j).and(63);
            IntVector mn = s1.lanewise(VectorOperators.LSHR, 8 * j).and(63);
            d.mul((FloatVector) sc.convert(VectorOperators.I2F, 0)).intoArray(dst, at0 + j * ROWS);
            dMin.mul((FloatVector) mn.convert(VectorOperators.I2F, 0)).intoArray(dst, at0 + (8 + j) * ROWS);
        }
        for (int j = 0; j < 4; j++) {
            IntVector high = s2.lanewise(VectorOperators.LSHR, 8 * j);
            IntVector sc = high.and(0x0F).or(s0.lanewise(VectorOperators.LSHR, 8 * j + 2).and(0x30));
            IntVector mn = high.lanewise(VectorOperators.LSHR, 4).and(0x0F)
                    .or(s1.lanewise(VectorOperators.LSHR, 8 * j + 2).and(0x30));
            d.mul((FloatVector) sc.convert(VectorOperators.I2F, 0)).intoArray(dst, at0 + (4 + j) * ROWS);
            dMin.mul((FloatVector) mn.convert(VectorOperators.I2F, 0)).intoArray(dst, at0 + (12 + j) * ROWS);
        }
    }

    /** Q6_K: the group block's d * scale of its 16 sub-blocks, each one vector into {@code dst}. */
    private static void q6Scales(MemorySegment w, long bo, float[] dst, int at0) {
        FloatVector d = InterleavedRows.scales(w, bo);
        for (int word = 0; word < 4; word++) {
            IntVector v = lanes(w, bo + SCALE_BYTES + (long) word * LANE_BYTES);
            for (int i = 0; i < 4; i++) {
                FloatVector sc = (FloatVector) v.lanewise(VectorOperators.LSHL, 24 - 8 * i)
                        .lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0);
                d.mul(sc).intoArray(dst, at0 + (4 * word + i) * ROWS);
            }
        }
    }
}
