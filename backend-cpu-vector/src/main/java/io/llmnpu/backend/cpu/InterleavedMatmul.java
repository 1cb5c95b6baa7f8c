package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.InterleavedRows.LANE_BYTES;
import static io.llmnpu.backend.cpu.InterleavedRows.ROWS;
import static io.llmnpu.backend.cpu.InterleavedRows.SCALE_BYTES;
import static io.llmnpu.backend.cpu.InterleavedRows.bf16High;
import static io.llmnpu.backend.cpu.InterleavedRows.bf16Low;
import static io.llmnpu.backend.cpu.InterleavedRows.f16High;
import static io.llmnpu.backend.cpu.InterleavedRows.f16Low;
import static io.llmnpu.backend.cpu.InterleavedRows.lanes;
import static io.llmnpu.backend.cpu.InterleavedRows.maskedBits;
import static io.llmnpu.backend.cpu.InterleavedRows.topByte;
import static io.llmnpu.backend.cpu.QuantBlocks.BLOCK;
import static io.llmnpu.backend.cpu.VectorSpecs.F32;
import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;
import static io.llmnpu.backend.cpu.VectorSpecs.LE;

import io.llmnpu.api.tensor.DType;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

/**
 * Linear over Q8_0, Q4_0, F16, BF16 or F32 weights in the {@link InterleavedRows} layout, for a few token
 * rows (decode). A group of {@link InterleavedRows#ROWS} weight rows is one vector of accumulators:
 * for every column, one extracted lane vector times the broadcast activation, columns taken in turn by
 * four FMA chains so that four are in flight. For Q8_0/Q4_0 the four partial sums of a block are added
 * and scaled by the group's scale vector. Each output depends only on its row's weights and the token
 * row, never on how rows are split between threads. {@code from} and {@code to} must be multiples of
 * ROWS.
 *
 * <p>Each kernel is one method holding all its loops, with the token row copied into a float[] first:
 * C2 compiles such a method whole and keeps every vector in a register. (A vector passed to or returned
 * from a call C2 does not inline is boxed on the heap; bounds-checked segment reads for every broadcast
 * made the methods large enough that it stopped inlining.)
 */
final class InterleavedMatmul implements MatmulRows {

    private final DType dtype;
    private final Workspace workspace;

    private InterleavedMatmul(DType dtype, Workspace workspace) {
        this.dtype = dtype;
        this.workspace = workspace;
    }

    static InterleavedMatmul of(DType dtype, Workspace workspace) {
        return switch (dtype) {
            case Q8_0, Q4_0, F16, BF16, F32, Q4_K, Q5_K, Q6_K, Q4_1, Q5_0, Q5_1 -> new InterleavedMatmul(dtype, workspace);
            default -> throw new IllegalArgumentException("no interleaved layout for " + dtype);
        };
    }

    /**
     * Copies each token row out of the activations and makes it ready for this weight type's kernel
     * (scaled per column, rounded to int8, summed per block), once per product; {@link #compute} then
     * only reads it.
     */
    @Override
    public void prepare(MemorySegment x, int tokens, int k) {
        for (int t = 0; t < tokens; t++) {
            DecodeRow r = workspace.decodeRowToPrepare(t);
            r.values = DecodeRow.atLeast(r.values, k);
            // One correction per 32-value block, or per 16-value Q6_K sub-block.
            r.offsets = DecodeRow.atLeast(r.offsets, k / 16 + 1);
            MemorySegment.copy(x, F32, (long) t * k * Float.BYTES, r.values, 0, k);
            switch (dtype) {
                case Q8_0 -> scaleForMaskedFields(r.values, k, 4, 8, InterleavedRows.Q8_OFFSET, r.offsets);
                case Q4_0, Q4_1, Q5_0, Q5_1 -> {
                    // Nibbles read unsigned (Q4_0: the value plus 8, so 8 times each block's sum comes off).
                    if (InterleavedSmallBlocks.hasFifthBits(dtype)) {
                        r.fifthBits = DecodeRow.atLeast(r.fifthBits, k * InterleavedSmallBlocks.FIFTH_BIT_FLOATS);
                    }
                    r.sums = DecodeRow.atLeast(r.sums, k / BLOCK);
                    InterleavedSmallBlocks.prepare(dtype, r.values, k, r.fifthBits, r.offsets, r.sums);
                    round(r, k, null);
                }
                case Q4_K, Q6_K -> round(r, k, r.offsets);
                case Q5_K -> InterleavedKQuants.prepareQ5K(r.values, k, r.offsets);
                default -> {
                    // F16, BF16 and F32 read the copied row as it is.
                }
            }
        }
    }

    /** The token rows {@link #prepare} made ready, against groups [from / ROWS, to / ROWS). */
    @Override
    public void compute(MemorySegment w, MemorySegment x, MemorySegment out, int tokens, int k, int n,
                        int from, int to) {
        int g0 = from / ROWS;
        int g1 = to / ROWS;
        for (int t = 0; t < tokens; t++) {
            DecodeRow r = workspace.decodeRow(t);
            long out0 = (long) t * n * Float.BYTES;
            switch (dtype) {
                case Q8_0 -> q8Groups(w, k / BLOCK, r.values, r.offsets, out, out0, g0, g1);
                case Q4_0 -> q4Groups(w, k / BLOCK, r.pairs, r.pairScales, r.offsets, out, out0, g0, g1);
                case Q4_K, Q6_K -> {
                    float[] scales = workspace.threadFloats(Workspace.ThreadUse.SUB_BLOCK_SCALES,
                            InterleavedKQuants.scalesLength(k));
                    int[] products = workspace.threadInts(Workspace.ThreadUse.SUB_BLOCK_PRODUCTS,
                            InterleavedKQuants.productsLength(k));
                    int blocks = k / InterleavedKQuants.QK;
                    if (dtype == DType.Q4_K) {
                        InterleavedKQuants.q4kGroups(w, blocks, r.pairs, r.pairScales, r.offsets, scales, products,
                                out, out0, g0, g1);
                    } else {
                        InterleavedKQuants.q6kGroups(w, blocks, r.pairs, r.pairScales, scales, products, out, out0,
                                g0, g1);
                    }
                }
                case Q5_K -> {
                    float[] scales = workspace.threadFloats(Workspace.ThreadUse.SUB_BLOCK_SCALES,
                            k / InterleavedKQuants.QK * InterleavedKQuants.SCALE_FLOATS);
                    InterleavedKQuants.q5kGroups(w, k / InterleavedKQuants.QK, r.values, r.offsets, scales, out, out0,
                            g0, g1);
                }
                case Q4_1, Q5_0, Q5_1 -> InterleavedSmallBlocks.groups(dtype, w, k / BLOCK, r.pairs, r.pairScales,
                        r.fifthBits, r.offsets, r.sums, out, out0, g0, g1);
                case F16 -> f16Groups(w, k, r.values, out, out0, g0, g1);
                case BF16 -> bf16Groups(w, k, r.values, out, out0, g0, g1);
                default -> f32Groups(w, k, r.values, out, out0, g0, g1);
            }
        }
    }

    /**
     * Rounds the row to int8 for an integer kernel ({@link Int8Activations}): pairs and their block scales,
     * and for Q4_K {@code sums} gets its blocks' rounded sums.
     */
    private void round(DecodeRow r, int k, float[] sums) {
        r.pairs = DecodeRow.atLeast(r.pairs, Int8Activations.pairsLength(dtype, k));
        r.levels = DecodeRow.atLeast(r.levels, k);
        r.pairScales = DecodeRow.atLeast(r.pairScales, k / Int8Activations.BLOCK);
        Int8Activations.quantize(dtype, r.values, k, r.levels, r.pairs, r.pairScales, sums);
    }

    /**
     * Prepares a token row for fields taken by {@link InterleavedRows#maskedBits}: in each lane word of
     * {@code fields} fields of {@code bits} bits, field i (all but the top one) comes out as an unsigned
     * value times 2^(bits * i), so its column's activation is scaled by 2^-(bits * i) (exact: a power of
     * two), and each block's sum is {@code offset} times that block's activations of those columns too
     * large; {@code offsets[b]} gets that excess, subtracted once per block.
     */
    private static void scaleForMaskedFields(float[] row, int k, int fields, int bits, float offset, float[] offsets) {
        for (int b = 0; b < k / BLOCK; b++) {
            float excess = 0;
            for (int c = b * BLOCK; c < (b + 1) * BLOCK; c++) {
                int field = c % fields;
                if (field != fields - 1) {
                    excess += row[c];
                    row[c] = Math.scalb(row[c], -bits * field);
                }
            }
            offsets[b] = offset * excess;
        }
    }

    /** Groups [g0, g1) against the token row {@code x}, written to the output row at {@code out0}. */
    private static void q8Groups(MemorySegment w, int blocks, float[] x, float[] offsets, MemorySegment out, long out0,
                                 int g0, int g1) {
        long blockBytes = (long) ROWS * DType.Q8_0.blockBytes();
        for (int g = g0; g < g1; g++) {
            long base = g * blocks * blockBytes;
            FloatVector acc = FloatVector.zero(FLOATS);
            for (int b = 0; b < blocks; b++) {
                long bo = base + b * blockBytes;
                FloatVector s0 = FloatVector.zero(FLOATS);
                FloatVector s1 = s0;
                FloatVector s2 = s0;
                FloatVector s3 = s0;
                for (int q = 0; q < BLOCK / 4; q++) {
                    IntVector quad = lanes(w, bo + SCALE_BYTES + (long) q * LANE_BYTES);
                    int c = b * BLOCK + 4 * q;
                    s0 = maskedBits(quad, 0xFF).fma(FloatVector.broadcast(FLOATS, x[c]), s0);
                    s1 = maskedBits(quad, 0xFF00).fma(FloatVector.broadcast(FLOATS, x[c + 1]), s1);
                    s2 = maskedBits(quad, 0xFF0000).fma(FloatVector.broadcast(FLOATS, x[c + 2]), s2);
                    s3 = topByte(quad).fma(FloatVector.broadcast(FLOATS, x[c + 3]), s3);
                }
                acc = s0.add(s1).add(s2.add(s3)).sub(offsets[b]).fma(InterleavedRows.scales(w, bo), acc);
            }
            acc.intoMemorySegment(out, out0 + (long) g * ROWS * Float.BYTES, LE);
        }
    }

    /** {@link #q8Groups} for Q4_0: the nibble pass of {@link InterleavedSmallBlocks}, whose layout it shares. */
    private static void q4Groups(MemorySegment w, int blocks, int[] pairs, float[] rowScales, float[] offsets,
                                 MemorySegment out, long out0, int g0, int g1) {
        long blockBytes = (long) ROWS * DType.Q4_0.blockBytes();
        float[] acc = new float[ROWS];
        for (int g = g0; g < g1; g++) {
            InterleavedSmallBlocks.nibbles(w, g * blocks * blockBytes, blocks, blockBytes, SCALE_BYTES, pairs, rowScales,
                    offsets, acc);
            FloatVector.fromArray(FLOATS, acc, 0).intoMemorySegment(out, out0 + (long) g * ROWS * Float.BYTES, LE);
        }
    }

    /**
     * {@link #q8Groups} for F16: two columns per lane vector, two pairs per step (k is a multiple of 4;
     * more pairs per step, or a tail loop, push the method past the size up to which C2 inlines the
     * conversions).
     */
    private static void f16Groups(MemorySegment w, int k, float[] x, MemorySegment out, long out0, int g0, int g1) {
        long groupBytes = (long) ROWS * k * Short.BYTES;
        for (int g = g0; g < g1; g++) {
            long base = g * groupBytes;
            FloatVector s0 = FloatVector.zero(FLOATS);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            for (int c = 0; c < k; c += 4) {
                long wo = base + (long) (c / 2) * LANE_BYTES;
                IntVector p0 = lanes(w, wo);
                IntVector p1 = lanes(w, wo + LANE_BYTES);
                s0 = f16Low(p0).fma(FloatVector.broadcast(FLOATS, x[c]), s0);
                s1 = f16High(p0).fma(FloatVector.broadcast(FLOATS, x[c + 1]), s1);
                s2 = f16Low(p1).fma(FloatVector.broadcast(FLOATS, x[c + 2]), s2);
                s3 = f16High(p1).fma(FloatVector.broadcast(FLOATS, x[c + 3]), s3);
            }
            s0.add(s1).add(s2.add(s3)).intoMemorySegment(out, out0 + (long) g * ROWS * Float.BYTES, LE);
        }
    }

    /** {@link #f16Groups} for BF16. */
    private static void bf16Groups(MemorySegment w, int k, float[] x, MemorySegment out, long out0, int g0, int g1) {
        long groupBytes = (long) ROWS * k * Short.BYTES;
        for (int g = g0; g < g1; g++) {
            long base = g * groupBytes;
            FloatVector s0 = FloatVector.zero(FLOATS);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            for (int c = 0; c < k; c += 4) {
                long wo = base + (long) (c / 2) * LANE_BYTES;
                IntVector p0 = lanes(w, wo);
                IntVector p1 = lanes(w, wo + LANE_BYTES);
                s0 = bf16Low(p0).fma(FloatVector.broadcast(FLOATS, x[c]), s0);
                s1 = bf16High(p0).fma(FloatVector.broadcast(FLOATS, x[c + 1]), s1);
                s2 = bf16Low(p1).fma(FloatVector.broadcast(FLOATS, x[c + 2]), s2);
                s3 = bf16High(p1).fma(FloatVector.broadcast(FLOATS, x[c + 3]), s3);
            }
            s0.add(s1).add(s2.add(s3)).intoMemorySegment(out, out0 + (long) g * ROWS * Float.BYTES, LE);
        }
    }

    /** {@link #q8Groups} for F32: one column per vector, four per step. */
    private static void f32Groups(MemorySegment w, int k, float[] x, MemorySegment out, long out0, int g0, int g1) {
        long groupBytes = (long) ROWS * k * Float.BYTES;
        for (int g = g0; g < g1; g++) {
            long base = g * groupBytes;
            FloatVector s0 = FloatVector.zero(FLOATS);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            for (int c = 0; c < k; c += 4) {
                long wo = base + (long) c * LANE_BYTES;
                s0 = FloatVector.fromMemorySegment(FLOATS, w, wo, LE).fma(FloatVector.broadcast(FLOATS, x[c]), s0);
                s1 = FloatVector.fromMemorySegment(FLOATS, w, wo + LANE_BYTES, LE)
                        .fma(FloatVector.broadcast(FLOATS, x[c + 1]), s1);
                s2 = FloatVector.fromMemorySegment(FLOATS, w, wo + 2 * LANE_BYTES, LE)
                        .fma(FloatVector.broadcast(FLOATS, x[c + 2]), s2);
                s3 = FloatVector.fromMemorySegment(FLOATS, w, wo + 3 * LANE_BYTES, LE)
                        .fma(FloatVector.broadcast(FLOATS, x[c + 3]), s3);
            }
            s0.add(s1).add(s2.add(s3)).intoMemorySegment(out, out0 + (long) g * ROWS * Float.BYTES, LE);
        }
    }
}
