package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.VectorSpecs.F32;
import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;
import static io.llmnpu.backend.cpu.VectorSpecs.LANES;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/**
 * Causal grouped-query attention for many query rows at once (prefill), after the caches are updated.
 *
 * <p>Per-row attention takes a dot product per (query, key) along the head dimension and pays a
 * horizontal sum for each, which for a 64-wide head costs more than the multiplications. Here the used
 * part of the caches is first restaged once per call, the keys of each KV head transposed to
 * [dim][position] and the values copied to rows padded to whole vectors. Queries that share a KV head
 * are then taken four at a time: their scores against {@link #JT} positions come from an outer product
 * over the head dimension (broadcast query element times a vector of consecutive keys, 16 independent
 * FMA chains, no horizontal sums), and their outputs from an outer product over positions (broadcast
 * probability times a vector of value dimensions). Restaging costs about 1/(2 * rows * group) of the
 * arithmetic, which is why decode keeps the per-row path. Every vector op uses the one preferred
 * species, padding small head dimensions up to a whole vector instead of switching species per call.
 *
 * <p>Each query's score is one FMA chain over the head dimension and each output element one chain over
 * positions 0..pos in order, whatever tile the query lands in, so results do not depend on the thread
 * count. They agree with the per-row path to rounding, not bit for bit.
 */
final class BatchedAttention {

    /** Queries per tile. */
    private static final int QT = 4;
    /** Key positions per score tile: four vectors. */
    static final int JT = 4 * LANES;

    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final int group;
    private final int paddedDim;
    private final float scale;
    private final float softCap;
    private final int window;
    private final Workspace workspace;

    /** For {@code Op.Attention}'s options: score scale, soft cap (0: none) and sliding window (0: none). */
    BatchedAttention(int heads, int kvHeads, int headDim, float scale, float softCap, int window, Workspace workspace) {
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.group = heads / kvHeads;
        this.paddedDim = (headDim + LANES - 1) / LANES * LANES;
        this.scale = scale;
        this.softCap = softCap;
        this.window = window;
        this.workspace = workspace;
    }

    /**
     * out[t, h] = softmax over the visible positions (0..positions[t], or its sliding window) of
     * scale * q[t, h] · k (soft-capped if asked), times v, for every row t with a position; rows with a
     * negative position get zeros.
     */
    void attend(MemorySegment q, MemorySegment kCache, MemorySegment vCache, MemorySegment out, int[] positions,
                ParallelLoop loop) {
        long rowBytes = (long) heads * headDim * Float.BYTES;
        int[] valid = validRows(positions, out, rowBytes);
        if (valid.length == 0) {
            return;
        }
        int used = 0;
        for (int t : valid) {
            used = Math.max(used, positions[t] + 1);
        }
        int context = (used + JT - 1) / JT * JT;
        float[] keys = workspace.floats(Workspace.Use.KEYS, Math.multiplyExact(kvHeads * headDim, context));
        float[] values = workspace.floats(Workspace.Use.VALUES, Math.multiplyExact(kvHeads * paddedDim, context));
        int chunks = context / JT;
        int usedPositions = used;
        loop.forRange(kvHeads * chunks, 1, (from, to) -> {
            for (int i = from; i < to; i++) {
                int j0 = (i % chunks) * JT;
                stage(kCache, vCache, keys, values, i / chunks, j0, usedPositions, context);
            }
        });
        int tiles = (valid.length * group + QT - 1) / QT;
        loop.forRange(kvHeads * tiles, 1, (from, to) -> {
            float[] qs = workspace.threadFloats(Workspace.ThreadUse.ATTENTION_QUERIES, QT * headDim);
            float[] probs = workspace.threadFloats(Workspace.ThreadUse.ATTENTION_NUMERATORS, QT * context);
            float[] acc = workspace.threadFloats(Workspace.ThreadUse.ATTENTION_SUMS, QT * paddedDim);
            for (int i = from; i < to; i++) {
                attendTile(q, out, positions, valid, keys, values, context, i / tiles, i % tiles, qs, probs, acc);
            }
        });
    }

    /** The rows with a position; the others are padding and their outputs are zeroed here. */
    private static int[] validRows(int[] positions, MemorySegment out, long rowBytes) {
        int[] valid = new int[positions.length];
        int n = 0;
        for (int t = 0; t < positions.length; t++) {
            if (positions[t] >= 0) {
                valid[n++] = t;
            } else {
                out.asSlice(t * rowBytes, rowBytes).fill((byte) 0);
            }
        }
        return Arrays.copyOf(valid, n);
    }

    /** Restages cache positions [j0, j0 + JT) of KV head g; positions past {@code used} become zeros. */
    private void stage(MemorySegment kCache, MemorySegment vCache, float[] keys, float[] values, int g, int j0,
                       int used, int context) {
        long kvStride = (long) kvHeads * headDim * Float.BYTES;
        long headOff = (long) g * headDim * Float.BYTES;
        int keyBase = g * headDim * context;
        for (int j = j0; j < j0 + JT; j++) {
            int valueRow = (g * context + j) * paddedDim;
            if (j < used) {
                long off = j * kvStride + headOff;
                for (int d = 0; d < headDim; d++) {
                    keys[keyBase + d * context + j] = kCache.get(F32, off + (long) d * Float.BYTES);
                }
                MemorySegment.copy(vCache, F32, off, values, valueRow, headDim);
                Arrays.fill(values, valueRow + headDim, valueRow + paddedDim, 0f);
            } else {
                for (int d = 0; d < headDim; d++) {
                    keys[keyBase + d * context + j] = 0f;
                }
                Arrays.fill(values, valueRow, valueRow + paddedDim, 0f);
            }
        }
    }

    /** Queries {@code tile*QT ..} of KV head g, numbered row-major over (valid row, head of the group). */
    private void attendTile(MemorySegment q, MemorySegment out, int[] positions, int[] valid, float[] keys,
                            float[] values, int context, int g, int tile, float[] qs, float[] probs, float[] acc) {
        int first = tile * QT;
        int count = Math.min(QT, valid.length * group - first);
        int[] rowOf = new int[count];
        int[] headOf = new int[count];
        int[] pos = new int[count];
        int minPos = Integer.MAX_VALUE;
        int maxPos = 0;
        for (int i = 0; i < count; i++) {
            int query = first + i;
            rowOf[i] = valid[query / group];
            headOf[i] = g * group + query % group;
            pos[i] = positions[rowOf[i]];
            minPos = Math.min(minPos, pos[i]);
            maxPos = Math.max(maxPos, pos[i]);
            MemorySegment.copy(q, F32, offset(rowOf[i], headOf[i]), qs, i * headDim, headDim);
        }
        int keyBase = g * headDim * context;
        int scoreEnd = (maxPos + 1 + JT - 1) / JT * JT;
        for (int j0 = 0; j0 < scoreEnd; j0 += JT) {
            if (count == QT) {
                scores4(qs, headDim, keys, keyBase + j0, context, probs, j0);
            } else {
                for (int i = 0; i < count; i++) {
                    scores1(qs, i * headDim, headDim, keys, keyBase + j0, context, probs, i * context + j0);
                }
            }
        }
        float[] sums = new float[count];
        for (int i = 0; i < count; i++) {
            // Positions before a sliding window get probability exactly 0, so the shared value loops
            // below, which start at position 0, add nothing for them.
            int visible = window == 0 ? 0 : Math.max(0, pos[i] - window + 1);
            sums[i] = VectorMath.softmaxNumerators(probs, i * context + visible, pos[i] + 1 - visible, scale, softCap);
            Arrays.fill(probs, i * context, i * context + visible, 0f);
        }
        Arrays.fill(acc, 0, QT * paddedDim, 0f);
        int valueBase = g * context * paddedDim;
        int vectors = paddedDim / LANES;
        int shared = count == QT ? minPos + 1 : 0;
        for (int v = 0; v < vectors; ) {
            int d0 = v * LANES;
            if (shared > 0 && vectors - v >= 4) {
                values4x4(probs, context, values, valueBase + d0, paddedDim, shared, acc, d0);
                v += 4;
            } else {
                if (shared > 0) {
                    values4x1(probs, context, values, valueBase + d0, paddedDim, shared, acc, d0);
                }
                v++;
            }
        }
        for (int i = 0; i < count; i++) {
            for (int d0 = 0; d0 < paddedDim; d0 += LANES) {
                values1x1(probs, i * context, values, valueBase + d0, paddedDim, shared, pos[i] + 1, acc,
                        i * paddedDim + d0);
            }
            float inv = 1f / sums[i];
            long o = offset(rowOf[i], headOf[i]);
            for (int d = 0; d < headDim; d++) {
                out.set(F32, o + (long) d * Float.BYTES, acc[i * paddedDim + d] * inv);
            }
        }
    }

    /** Byte offset of head h of row t in q and out, which share the [rows, heads * headDim] layout. */
    private long offset(int t, int h) {
        return ((long) t * heads + h) * headDim * Float.BYTES;
    }

    /** s[i * ctx + j0 + ..JT) = q_i · keys[.., j0 .. j0 + JT) for four queries q_i = q[i * dim ..]. */
    private static void scores4(float[] q, int dim, float[] k, int kb, int ctx, float[] s, int j0) {
        FloatVector c00 = FloatVector.zero(FLOATS);
        FloatVector c01 = c00;
        FloatVector c02 = c00;
        FloatVector c03 = c00;
        FloatVector c10 = c00;
        FloatVector c11 = c00;
        FloatVector c12 = c00;
        FloatVector c13 = c00;
        FloatVector c20 = c00;
        FloatVector c21 = c00;
        FloatVector c22 = c00;
        FloatVector c23 = c00;
        FloatVector c30 = c00;
        FloatVector c31 = c00;
        FloatVector c32 = c00;
        FloatVector c33 = c00;
        for (int d = 0; d < dim; d++) {
            int ko = kb + d * ctx;
            FloatVector k0 = FloatVector.fromArray(FLOATS, k, ko);
            FloatVector k1 = FloatVector.fromArray(FLOATS, k, ko + LANES);
            FloatVector k2 = FloatVector.fromArray(FLOATS, k, ko + 2 * LANES);
            FloatVector k3 = FloatVector.fromArray(FLOATS, k, ko + 3 * LANES);
            FloatVector b = FloatVector.broadcast(FLOATS, q[d]);
            c00 = b.fma(k0, c00);
            c01 = b.fma(k1, c01);
            c02 = b.fma(k2, c02);
            c03 = b.fma(k3, c03);
            b = FloatVector.broadcast(FLOATS, q[dim + d]);
            c10 = b.fma(k0, c10);
            c11 = b.fma(k1, c11);
            c12 = b.fma(k2, c12);
            c13 = b.fma(k3, c13);
            b = FloatVector.broadcast(FLOATS, q[2 * dim + d]);
            c20 = b.fma(k0, c20);
            c21 = b.fma(k1, c21);
            c22 = b.fma(k2, c22);
            c23 = b.fma(k3, c23);
            b = FloatVector.broadcast(FLOATS, q[3 * dim + d]);
            c30 = b.fma(k0, c30);
            c31 = b.fma(k1, c31);
            c32 = b.fma(k2, c32);
            c33 = b.fma(k3, c33);
        }
        int s0 = j0;
        c00.intoArray(s, s0);
        c01.intoArray(s, s0 + LANES);
        c02.intoArray(s, s0 + 2 * LANES);
        c03.intoArray(s, s0 + 3 * LANES);
        int s1 = s0 + ctx;
        c10.intoArray(s, s1);
        c11.intoArray(s, s1 + LANES);
        c12.intoArray(s, s1 + 2 * LANES);
        c13.intoArray(s, s1 + 3 * LANES);
        int s2 = s1 + ctx;
        c20.intoArray(s, s2);
        c21.intoArray(s, s2 + LANES);
        c22.intoArray(s, s2 + 2 * LANES);
        c23.intoArray(s, s2 + 3 * LANES);
        int s3 = s2 + ctx;
        c30.intoArray(s, s3);
        c31.intoArray(s, s3 + LANES);
        c32.intoArray(s, s3 + 2 * LANES);
        c33.intoArray(s, s3 + 3 * LANES);
    }

    /** {@link #scores4} for the one query at q[q0 ..], written to s[so .. so + JT). */
    private static void scores1(float[] q, int q0, int dim, float[] k, int kb, int ctx, float[] s, int so) {
        FloatVector c0 = FloatVector.zero(FLOATS);
        FloatVector c1 = c0;
        FloatVector c2 = c0;
        FloatVector c3 = c0;
        for (int d = 0; d < dim; d++) {
            int ko = kb + d * ctx;
            FloatVector b = FloatVector.broadcast(FLOATS, q[q0 + d]);
            c0 = b.fma(FloatVector.fromArray(FLOATS, k, ko), c0);
            c1 = b.fma(FloatVector.fromArray(FLOATS, k, ko + LANES), c1);
            c2 = b.fma(FloatVector.fromArray(FLOATS, k, ko + 2 * LANES), c2);
            c3 = b.fma(FloatVector.fromArray(FLOATS, k, ko + 3 * LANES), c3);
        }
        c0.intoArray(s, so);
        c1.intoArray(s, so + LANES);
        c2.intoArray(s, so + 2 * LANES);
        c3.intoArray(s, so + 3 * LANES);
    }

    /**
     * acc[i * dim + d0 + ..4 vectors) += sum over j < jEnd of p[i * ctx + j] * values[vb + j * dim ..] for
     * the four queries i of a tile.
     */
    private static void values4x4(float[] p, int ctx, float[] v, int vb, int dim, int jEnd, float[] acc, int d0) {
        int a1 = dim;
        int a2 = 2 * dim;
        int a3 = 3 * dim;
        FloatVector c00 = FloatVector.fromArray(FLOATS, acc, d0);
        FloatVector c01 = FloatVector.fromArray(FLOATS, acc, d0 + LANES);
        FloatVector c02 = FloatVector.fromArray(FLOATS, acc, d0 + 2 * LANES);
        FloatVector c03 = FloatVector.fromArray(FLOATS, acc, d0 + 3 * LANES);
        FloatVector c10 = FloatVector.fromArray(FLOATS, acc, a1 + d0);
        FloatVector c11 = FloatVector.fromArray(FLOATS, acc, a1 + d0 + LANES);
        FloatVector c12 = FloatVector.fromArray(FLOATS, acc, a1 + d0 + 2 * LANES);
        FloatVector c13 = FloatVector.fromArray(FLOATS, acc, a1 + d0 + 3 * LANES);
        FloatVector c20 = FloatVector.fromArray(FLOATS, acc, a2 + d0);
        FloatVector c21 = FloatVector.fromArray(FLOATS, acc, a2 + d0 + LANES);
        FloatVector c22 = FloatVector.fromArray(FLOATS, acc, a2 + d0 + 2 * LANES);
        FloatVector c23 = FloatVector.fromArray(FLOATS, acc, a2 + d0 + 3 * LANES);
        FloatVector c30 = FloatVector.fromArray(FLOATS, acc, a3 + d0);
        FloatVector c31 = FloatVector.fromArray(FLOATS, acc, a3 + d0 + LANES);
        FloatVector c32 = FloatVector.fromArray(FLOATS, acc, a3 + d0 + 2 * LANES);
        FloatVector c33 = FloatVector.fromArray(FLOATS, acc, a3 + d0 + 3 * LANES);
        for (int j = 0; j < jEnd; j++) {
            int vo = vb + j * dim;
            FloatVector v0 = FloatVector.fromArray(FLOATS, v, vo);
            FloatVector v1 = FloatVector.fromArray(FLOATS, v, vo + LANES);
            FloatVector v2 = FloatVector.fromArray(FLOATS, v, vo + 2 * LANES);
            FloatVector v3 = FloatVector.fromArray(FLOATS, v, vo + 3 * LANES);
            FloatVector b = FloatVector.broadcast(FLOATS, p[j]);
            c00 = v0.fma(b, c00);
            c01 = v1.fma(b, c01);
            c02 = v2.fma(b, c02);
            c03 = v3.fma(b, c03);
            b = FloatVector.broadcast(FLOATS, p[ctx + j]);
            c10 = v0.fma(b, c10);
            c11 = v1.fma(b, c11);
            c12 = v2.fma(b, c12);
            c13 = v3.fma(b, c13);
            b = FloatVector.broadcast(FLOATS, p[2 * ctx + j]);
            c20 = v0.fma(b, c20);
            c21 = v1.fma(b, c21);
            c22 = v2.fma(b, c22);
            c23 = v3.fma(b, c23);
            b = FloatVector.broadcast(FLOATS, p[3 * ctx + j]);
            c30 = v0.fma(b, c30);
            c31 = v1.fma(b, c31);
            c32 = v2.fma(b, c32);
            c33 = v3.fma(b, c33);
        }
        c00.intoArray(acc, d0);
        c01.intoArray(acc, d0 + LANES);
        c02.intoArray(acc, d0 + 2 * LANES);
        c03.intoArray(acc, d0 + 3 * LANES);
        c10.intoArray(acc, a1 + d0);
        c11.intoArray(acc, a1 + d0 + LANES);
        c12.intoArray(acc, a1 + d0 + 2 * LANES);
        c13.intoArray(acc, a1 + d0 + 3 * LANES);
        c20.intoArray(acc, a2 + d0);
        c21.intoArray(acc, a2 + d0 + LANES);
        c22.intoArray(acc, a2 + d0 + 2 * LANES);
        c23.intoArray(acc, a2 + d0 + 3 * LANES);
        c30.intoArray(acc, a3 + d0);
        c31.intoArray(acc, a3 + d0 + LANES);
        c32.intoArray(acc, a3 + d0 + 2 * LANES);
        c33.intoArray(acc, a3 + d0 + 3 * LANES);
    }

    /** {@link #values4x4} for one vector of the value dimensions. */
    private static void values4x1(float[] p, int ctx, float[] v, int vb, int dim, int jEnd, float[] acc, int d0) {
        FloatVector c0 = FloatVector.fromArray(FLOATS, acc, d0);
        FloatVector c1 = FloatVector.fromArray(FLOATS, acc, dim + d0);
        FloatVector c2 = FloatVector.fromArray(FLOATS, acc, 2 * dim + d0);
        FloatVector c3 = FloatVector.fromArray(FLOATS, acc, 3 * dim + d0);
        for (int j = 0; j < jEnd; j++) {
            FloatVector v0 = FloatVector.fromArray(FLOATS, v, vb + j * dim);
            c0 = v0.fma(FloatVector.broadcast(FLOATS, p[j]), c0);
            c1 = v0.fma(FloatVector.broadcast(FLOATS, p[ctx + j]), c1);
            c2 = v0.fma(FloatVector.broadcast(FLOATS, p[2 * ctx + j]), c2);
            c3 = v0.fma(FloatVector.broadcast(FLOATS, p[3 * ctx + j]), c3);
        }
        c0.intoArray(acc, d0);
        c1.intoArray(acc, dim + d0);
        c2.intoArray(acc, 2 * dim + d0);
        c3.intoArray(acc, 3 * dim + d0);
    }

    /** acc[ao .. ao + LANES) += sum over j in [jFrom, jEnd) of p[po + j] * values[vb + j * dim ..]. */
    private static void values1x1(float[] p, int po, float[] v, int vb, int dim, int jFrom, int jEnd, float[] acc,
                                  int ao) {
        FloatVector c = FloatVector.fromArray(FLOATS, acc, ao);
        for (int j = jFrom; j < jEnd; j++) {
            c = FloatVector.fromArray(FLOATS, v, vb + j * dim).fma(FloatVector.broadcast(FLOATS, p[po + j]), c);
        }
        c.intoArray(acc, ao);
    }
}
