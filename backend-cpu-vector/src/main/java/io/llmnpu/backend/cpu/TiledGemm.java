package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.VectorSpecs.F32;
import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;
import static io.llmnpu.backend.cpu.VectorSpecs.LANES;

import io.llmnpu.api.tensor.DType;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/**
 * The prefill product out[T, N] = x[T, K] · w[N, K]^T for many token rows, cache-blocked and
 * register-tiled, for weights of every dtype.
 *
 * <p>Layout. Both operands are K-contiguous, so a tile of dot products would need a horizontal sum per
 * output and per K-block. Instead the activations are transposed once per call (1/N of the work) into
 * blocks of {@link #TB} token rows laid out [K][TB], and the micro-kernel computes an outer product:
 * for each k it loads {@link #MR} vectors of consecutive token rows and broadcasts one weight of each of
 * {@link #NR} weight rows, giving NR x MR independent FMA chains held in registers (24 of the 32
 * AVX-512 registers). Each output is then one FMA chain over k in increasing order, whichever thread
 * computes it and however the work is split, so results never depend on the thread count.
 *
 * <p>Blocking. Threads own panels of whole weight rows (little synchronisation: one loop to pack, one
 * to multiply). A panel is widened to F32 once per call into a thread's scratch array sized to stay in
 * L2 ({@link WeightRows}: quantized and 16-bit weights are dequantized here, a tile at a time, never as a
 * whole tensor); weights in the {@link InterleavedRows} layout widen a group of rows column by column,
 * so their panel is column-major (the micro-kernel takes both a row and a column stride). For each block
 * of token rows, K is walked in blocks of {@link #KB} so that the packed
 * activation block (KB x TB floats) stays in L1 while every weight row of the panel passes over it; the
 * partial sums move between K-blocks through a small accumulator array.
 *
 * <p>Why F32 arithmetic for quantized weights: the Vector API cannot reach the CPU's int8 dot-product
 * instructions (VNNI), and int8 tiles through it measured slower (65 GOP/s) than F32 tiles (82 GFLOP/s)
 * on this class of machine, so quantized weights are widened to F32 tiles and share the F32 kernel.
 */
final class TiledGemm {

    /** Weight rows per micro tile. */
    static final int NR = 6;
    /** Vectors of token rows per micro tile. */
    static final int MR = 4;
    /** Token rows per packed block. */
    static final int TB = MR * LANES;
    /** K per block: a packed block of KB x TB floats (32 KiB with 16 lanes) stays in L1. */
    static final int KB = 128;
    /** Floats of widened weights per thread: a panel of up to 8 micro-tile row groups, 512 KiB at most. */
    private static final int PANEL_FLOATS = 128 * 1024;
    private static final int MAX_GROUPS = 8;
    /** K per packing task: TB rows x 256 columns of the packed block (64 KiB) stay in cache while filled. */
    private static final int PACK_K = 256;

    /** Rows of a panel of interleaved weights: whole groups of micro tiles and of interleaved rows. */
    private static final int INTERLEAVED_PANEL_ROWS = 3 * InterleavedRows.ROWS;

    private final WeightRows weights;
    private final DType interleaved;
    private final Workspace workspace;

    private TiledGemm(WeightRows weights, DType interleaved, Workspace workspace) {
        this.weights = weights;
        this.interleaved = interleaved;
        this.workspace = workspace;
    }

    /** A GEMM over weights in their file layout, widened row by row. */
    TiledGemm(WeightRows weights, Workspace workspace) {
        this(weights, null, workspace);
    }

    /** A GEMM over Q8_0 or Q4_0 weights in the {@link InterleavedRows} layout. */
    static TiledGemm interleaved(DType dtype, Workspace workspace) {
        return new TiledGemm(null, dtype, workspace);
    }

    void multiply(MemorySegment w, MemorySegment x, MemorySegment out, int t, int k, int n, ParallelLoop loop) {
        int tBlocks = (t + TB - 1) / TB;
        float[] packed = workspace.floats(Workspace.Use.PACKED_ACTIVATIONS, Math.multiplyExact(tBlocks * TB, k));
        int kChunks = (k + PACK_K - 1) / PACK_K;
        loop.forRange(tBlocks * kChunks, 1, (from, to) -> {
            float[] rows = workspace.threadFloats(Workspace.ThreadUse.PACK_ROWS, TB * PACK_K);
            for (int i = from; i < to; i++) {
                int k0 = (i % kChunks) * PACK_K;
                pack(x, packed, rows, t, k, i / kChunks, k0, Math.min(k, k0 + PACK_K));
            }
        });
        int panelRows = interleaved != null
                ? INTERLEAVED_PANEL_ROWS
                : Math.max(1, Math.min(MAX_GROUPS, PANEL_FLOATS / (NR * k))) * NR;
        int panels = (n + panelRows - 1) / panelRows;
        loop.forRange(panels, 1, (from, to) -> {
            float[] panel = workspace.threadFloats(Workspace.ThreadUse.WEIGHT_PANEL, panelRows * k);
            float[] acc = workspace.threadFloats(Workspace.ThreadUse.GEMM_SUMS, panelRows * TB);
            for (int p = from; p < to; p++) {
                int n0 = p * panelRows;
                multiplyPanel(w, packed, out, t, k, n, n0, Math.min(panelRows, n - n0), panel, acc);
            }
        });
    }

    /**
     * Copies x[t-block rows, k0..k1) into the block's [K][TB] layout; rows past T become zeros. The rows
     * are first copied in bulk to {@code rows}, then each packed vector (LANES token rows at one k) is
     * one gather from there and one contiguous store: element-wise copying from the segment costs a
     * bounds and liveness check per value and is several times slower.
     */
    private static void pack(MemorySegment x, float[] packed, float[] rows, int t, int k, int tb, int k0, int k1) {
        int len = k1 - k0;
        int t0 = tb * TB;
        for (int tt = 0; tt < TB; tt++) {
            if (t0 + tt < t) {
                MemorySegment.copy(x, F32, ((long) (t0 + tt) * k + k0) * Float.BYTES, rows, tt * len, len);
            } else {
                Arrays.fill(rows, tt * len, (tt + 1) * len, 0f);
            }
        }
        int[] lanesApart = new int[LANES];
        for (int lane = 0; lane < LANES; lane++) {
            lanesApart[lane] = lane * len;
        }
        int base = t0 * k;
        for (int kk = 0; kk < len; kk++) {
            int dst = base + (k0 + kk) * TB;
            for (int v = 0; v < MR; v++) {
                FloatVector.fromArray(FLOATS, rows, v * LANES * len + kk, lanesApart, 0)
                        .intoArray(packed, dst + v * LANES);
            }
        }
    }

    private void multiplyPanel(MemorySegment w, float[] packed, MemorySegment out, int t, int k, int n, int n0,
                               int rows, float[] panel, float[] acc) {
        int groups = (rows + NR - 1) / NR;
        // Where weight (row i of the panel, column c) is: panel[i * rowStride + c * colStride].
        int rowStride;
        int colStride;
        if (interleaved == null) {
            for (int r = 0; r < rows; r++) {
                weights.widen(w, n0 + r, k, panel, r * k);
            }
            // The last group's missing rows multiply as zeros; their sums are never written out.
            Arrays.fill(panel, rows * k, groups * NR * k, 0f);
            rowStride = k;
            colStride = 1;
        } else {
            // Interleaved groups widen column by column, so this panel is column-major.
            colStride = groups * NR;
            for (int r = 0; r < rows; r += InterleavedRows.ROWS) {
                InterleavedRows.widenGroup(interleaved, w, (n0 + r) / InterleavedRows.ROWS, k, 0, k, panel, r,
                        colStride);
            }
            if (rows < colStride) {
                for (int c = 0; c < k; c++) {
                    Arrays.fill(panel, c * colStride + rows, (c + 1) * colStride, 0f);
                }
            }
            rowStride = 1;
        }
        for (int t0 = 0; t0 < t; t0 += TB) {
            int valid = Math.min(TB, t - t0);
            int vectors = (valid + LANES - 1) / LANES;
            Arrays.fill(acc, 0, groups * NR * TB, 0f);
            for (int k0 = 0; k0 < k; k0 += KB) {
                int kLen = Math.min(KB, k - k0);
                int xb = t0 * k + k0 * TB;
                for (int g = 0; g < groups; g++) {
                    int wb = g * NR * rowStride + k0 * colStride;
                    int cb = g * NR * TB;
                    if (vectors == MR) {
                        tile4(panel, wb, rowStride, colStride, packed, xb, kLen, acc, cb);
                    } else {
                        int v = 0;
                        if (vectors >= 2) {
                            tile2(panel, wb, rowStride, colStride, packed, xb, kLen, acc, cb);
                            v = 2;
                        }
                        if (vectors > v) {
                            tile1(panel, wb, rowStride, colStride, packed, xb + v * LANES, kLen, acc, cb + v * LANES);
                        }
                    }
                }
            }
            for (int tt = 0; tt < valid; tt++) {
                long o = ((long) (t0 + tt) * n + n0) * Float.BYTES;
                for (int r = 0; r < rows; r++) {
                    out.set(F32, o + (long) r * Float.BYTES, acc[r * TB + tt]);
                }
            }
        }
    }

    /**
     * acc[NR rows][4 vectors] += w[NR rows, kLen] x packed[kLen][4 vectors]. Weight (row i, column kk) of
     * the tile is {@code w[wb + i * ws + kk * wk]}; packed row kk at {@code x[xb + kk * TB]}; accumulator
     * row i at {@code c[cb + i * TB]}.
     */
    private static void tile4(float[] w, int wb, int ws, int wk, float[] x, int xb, int kLen, float[] c, int cb) {
        FloatVector c00 = FloatVector.fromArray(FLOATS, c, cb);
        FloatVector c01 = FloatVector.fromArray(FLOATS, c, cb + LANES);
        FloatVector c02 = FloatVector.fromArray(FLOATS, c, cb + 2 * LANES);
        FloatVector c03 = FloatVector.fromArray(FLOATS, c, cb + 3 * LANES);
        FloatVector c10 = FloatVector.fromArray(FLOATS, c, cb + TB);
        FloatVector c11 = FloatVector.fromArray(FLOATS, c, cb + TB + LANES);
        FloatVector c12 = FloatVector.fromArray(FLOATS, c, cb + TB + 2 * LANES);
        FloatVector c13 = FloatVector.fromArray(FLOATS, c, cb + TB + 3 * LANES);
        FloatVector c20 = FloatVector.fromArray(FLOATS, c, cb + 2 * TB);
        FloatVector c21 = FloatVector.fromArray(FLOATS, c, cb + 2 * TB + LANES);
        FloatVector c22 = FloatVector.fromArray(FLOATS, c, cb + 2 * TB + 2 * LANES);
        FloatVector c23 = FloatVector.fromArray(FLOATS, c, cb + 2 * TB + 3 * LANES);
        FloatVector c30 = FloatVector.fromArray(FLOATS, c, cb + 3 * TB);
        FloatVector c31 = FloatVector.fromArray(FLOATS, c, cb + 3 * TB + LANES);
        FloatVector c32 = FloatVector.fromArray(FLOATS, c, cb + 3 * TB + 2 * LANES);
        FloatVector c33 = FloatVector.fromArray(FLOATS, c, cb + 3 * TB + 3 * LANES);
        FloatVector c40 = FloatVector.fromArray(FLOATS, c, cb + 4 * TB);
        FloatVector c41 = FloatVector.fromArray(FLOATS, c, cb + 4 * TB + LANES);
        FloatVector c42 = FloatVector.fromArray(FLOATS, c, cb + 4 * TB + 2 * LANES);
        FloatVector c43 = FloatVector.fromArray(FLOATS, c, cb + 4 * TB + 3 * LANES);
        FloatVector c50 = FloatVector.fromArray(FLOATS, c, cb + 5 * TB);
        FloatVector c51 = FloatVector.fromArray(FLOATS, c, cb + 5 * TB + LANES);
        FloatVector c52 = FloatVector.fromArray(FLOATS, c, cb + 5 * TB + 2 * LANES);
        FloatVector c53 = FloatVector.fromArray(FLOATS, c, cb + 5 * TB + 3 * LANES);
        for (int kk = 0; kk < kLen; kk++) {
            int xo = xb + kk * TB;
            FloatVector x0 = FloatVector.fromArray(FLOATS, x, xo);
            FloatVector x1 = FloatVector.fromArray(FLOATS, x, xo + LANES);
            FloatVector x2 = FloatVector.fromArray(FLOATS, x, xo + 2 * LANES);
            FloatVector x3 = FloatVector.fromArray(FLOATS, x, xo + 3 * LANES);
            int wo = wb + kk * wk;
            FloatVector b = FloatVector.broadcast(FLOATS, w[wo]);
            c00 = b.fma(x0, c00);
            c01 = b.fma(x1, c01);
            c02 = b.fma(x2, c02);
            c03 = b.fma(x3, c03);
            b = FloatVector.broadcast(FLOATS, w[wo + ws]);
            c10 = b.fma(x0, c10);
            c11 = b.fma(x1, c11);
            c12 = b.fma(x2, c12);
            c13 = b.fma(x3, c13);
            b = FloatVector.broadcast(FLOATS, w[wo + 2 * ws]);
            c20 = b.fma(x0, c20);
            c21 = b.fma(x1, c21);
            c22 = b.fma(x2, c22);
            c23 = b.fma(x3, c23);
            b = FloatVector.broadcast(FLOATS, w[wo + 3 * ws]);
            c30 = b.fma(x0, c30);
            c31 = b.fma(x1, c31);
            c32 = b.fma(x2, c32);
            c33 = b.fma(x3, c33);
            b = FloatVector.broadcast(FLOATS, w[wo + 4 * ws]);
            c40 = b.fma(x0, c40);
            c41 = b.fma(x1, c41);
            c42 = b.fma(x2, c42);
            c43 = b.fma(x3, c43);
            b = FloatVector.broadcast(FLOATS, w[wo + 5 * ws]);
            c50 = b.fma(x0, c50);
            c51 = b.fma(x1, c51);
            c52 = b.fma(x2, c52);
            c53 = b.fma(x3, c53);
        }
        c00.intoArray(c, cb);
        c01.intoArray(c, cb + LANES);
        c02.intoArray(c, cb + 2 * LANES);
        c03.intoArray(c, cb + 3 * LANES);
        c10.intoArray(c, cb + TB);
        c11.intoArray(c, cb + TB + LANES);
        c12.intoArray(c, cb + TB + 2 * LANES);
        c13.intoArray(c, cb + TB + 3 * LANES);
        c20.intoArray(c, cb + 2 * TB);
        c21.intoArray(c, cb + 2 * TB + LANES);
        c22.intoArray(c, cb + 2 * TB + 2 * LANES);
        c23.intoArray(c, cb + 2 * TB + 3 * LANES);
        c30.intoArray(c, cb + 3 * TB);
        c31.intoArray(c, cb + 3 * TB + LANES);
        c32.intoArray(c, cb + 3 * TB + 2 * LANES);
        c33.intoArray(c, cb + 3 * TB + 3 * LANES);
        c40.intoArray(c, cb + 4 * TB);
        c41.intoArray(c, cb + 4 * TB + LANES);
        c42.intoArray(c, cb + 4 * TB + 2 * LANES);
        c43.intoArray(c, cb + 4 * TB + 3 * LANES);
        c50.intoArray(c, cb + 5 * TB);
        c51.intoArray(c, cb + 5 * TB + LANES);
        c52.intoArray(c, cb + 5 * TB + 2 * LANES);
        c53.intoArray(c, cb + 5 * TB + 3 * LANES);
    }

    /** {@link #tile4} for the two vectors of token rows at {@code xb} (a block's tail). */
    private static void tile2(float[] w, int wb, int ws, int wk, float[] x, int xb, int kLen, float[] c, int cb) {
        FloatVector c00 = FloatVector.fromArray(FLOATS, c, cb);
        FloatVector c01 = FloatVector.fromArray(FLOATS, c, cb + LANES);
        FloatVector c10 = FloatVector.fromArray(FLOATS, c, cb + TB);
        FloatVector c11 = FloatVector.fromArray(FLOATS, c, cb + TB + LANES);
        FloatVector c20 = FloatVector.fromArray(FLOATS, c, cb + 2 * TB);
        FloatVector c21 = FloatVector.fromArray(FLOATS, c, cb + 2 * TB + LANES);
        FloatVector c30 = FloatVector.fromArray(FLOATS, c, cb + 3 * TB);
        FloatVector c31 = FloatVector.fromArray(FLOATS, c, cb + 3 * TB + LANES);
        FloatVector c40 = FloatVector.fromArray(FLOATS, c, cb + 4 * TB);
        FloatVector c41 = FloatVector.fromArray(FLOATS, c, cb + 4 * TB + LANES);
        FloatVector c50 = FloatVector.fromArray(FLOATS, c, cb + 5 * TB);
        FloatVector c51 = FloatVector.fromArray(FLOATS, c, cb + 5 * TB + LANES);
        for (int kk = 0; kk < kLen; kk++) {
            int xo = xb + kk * TB;
            FloatVector x0 = FloatVector.fromArray(FLOATS, x, xo);
            FloatVector x1 = FloatVector.fromArray(FLOATS, x, xo + LANES);
            int wo = wb + kk * wk;
            FloatVector b = FloatVector.broadcast(FLOATS, w[wo]);
            c00 = b.fma(x0, c00);
            c01 = b.fma(x1, c01);
            b = FloatVector.broadcast(FLOATS, w[wo + ws]);
            c10 = b.fma(x0, c10);
            c11 = b.fma(x1, c11);
            b = FloatVector.broadcast(FLOATS, w[wo + 2 * ws]);
            c20 = b.fma(x0, c20);
            c21 = b.fma(x1, c21);
            b = FloatVector.broadcast(FLOATS, w[wo + 3 * ws]);
            c30 = b.fma(x0, c30);
            c31 = b.fma(x1, c31);
            b = FloatVector.broadcast(FLOATS, w[wo + 4 * ws]);
            c40 = b.fma(x0, c40);
            c41 = b.fma(x1, c41);
            b = FloatVector.broadcast(FLOATS, w[wo + 5 * ws]);
            c50 = b.fma(x0, c50);
            c51 = b.fma(x1, c51);
        }
        c00.intoArray(c, cb);
        c01.intoArray(c, cb + LANES);
        c10.intoArray(c, cb + TB);
        c11.intoArray(c, cb + TB + LANES);
        c20.intoArray(c, cb + 2 * TB);
        c21.intoArray(c, cb + 2 * TB + LANES);
        c30.intoArray(c, cb + 3 * TB);
        c31.intoArray(c, cb + 3 * TB + LANES);
        c40.intoArray(c, cb + 4 * TB);
        c41.intoArray(c, cb + 4 * TB + LANES);
        c50.intoArray(c, cb + 5 * TB);
        c51.intoArray(c, cb + 5 * TB + LANES);
    }

    /** {@link #tile4} for the one vector of token rows at {@code xb} (a block's tail). */
    private static void tile1(float[] w, int wb, int ws, int wk, float[] x, int xb, int kLen, float[] c, int cb) {
        FloatVector c0 = FloatVector.fromArray(FLOATS, c, cb);
        FloatVector c1 = FloatVector.fromArray(FLOATS, c, cb + TB);
        FloatVector c2 = FloatVector.fromArray(FLOATS, c, cb + 2 * TB);
        FloatVector c3 = FloatVector.fromArray(FLOATS, c, cb + 3 * TB);
        FloatVector c4 = FloatVector.fromArray(FLOATS, c, cb + 4 * TB);
        FloatVector c5 = FloatVector.fromArray(FLOATS, c, cb + 5 * TB);
        for (int kk = 0; kk < kLen; kk++) {
            FloatVector x0 = FloatVector.fromArray(FLOATS, x, xb + kk * TB);
            int wo = wb + kk * wk;
            c0 = FloatVector.broadcast(FLOATS, w[wo]).fma(x0, c0);
            c1 = FloatVector.broadcast(FLOATS, w[wo + ws]).fma(x0, c1);
            c2 = FloatVector.broadcast(FLOATS, w[wo + 2 * ws]).fma(x0, c2);
            c3 = FloatVector.broadcast(FLOATS, w[wo + 3 * ws]).fma(x0, c3);
            c4 = FloatVector.broadcast(FLOATS, w[wo + 4 * ws]).fma(x0, c4);
            c5 = FloatVector.broadcast(FLOATS, w[wo + 5 * ws]).fma(x0, c5);
        }
        c0.intoArray(c, cb);
        c1.intoArray(c, cb + TB);
        c2.intoArray(c, cb + 2 * TB);
        c3.intoArray(c, cb + 3 * TB);
        c4.intoArray(c, cb + 4 * TB);
        c5.intoArray(c, cb + 5 * TB);
    }
}
