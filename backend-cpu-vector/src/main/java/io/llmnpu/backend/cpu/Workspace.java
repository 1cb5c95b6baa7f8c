package io.llmnpu.backend.cpu;

import java.util.Arrays;

/**
 * Scratch arrays that the kernels of one compiled graph share. Kernels of a graph run one after
 * another and a graph runs one execution at a time, so one array per use serves them all: it grows to
 * the largest request and is then reused, instead of every kernel holding its own or every call
 * allocating (and zeroing) fresh arrays.
 */
final class Workspace {

    /** What a shared array holds; arrays of different uses may be needed at the same time. */
    enum Use {
        /** Token rows transposed into blocks for the tiled GEMM. */
        PACKED_ACTIVATIONS,
        /** Attention keys transposed to [kvHead][dim][position]. */
        KEYS,
        /** Attention values copied to [kvHead][position][padded dim]. */
        VALUES
    }

    /** What a per-thread array holds, for work a thread does on its own share of a parallel loop. */
    enum ThreadUse {
        /** Token rows copied out of the activations before packing. */
        PACK_ROWS,
        /** A k-quant group block's sub-block scales and mins, one vector each (see InterleavedKQuants). */
        SUB_BLOCK_SCALES,
        /** A Q4_K group block's or a Q6_K group's 16-bit products, handed from one part of the kernel to the next. */
        SUB_BLOCK_PRODUCTS,
        /** A panel of weight rows widened to F32. */
        WEIGHT_PANEL,
        /** Partial sums of a GEMM panel between K-blocks. */
        GEMM_SUMS,
        /** The queries of an attention tile. */
        ATTENTION_QUERIES,
        /** Scores, then softmax numerators, of an attention tile: [query][position]. */
        ATTENTION_NUMERATORS,
        /** Output sums of an attention tile: [query][padded dim]. */
        ATTENTION_SUMS
    }

    private final float[][] shared = new float[Use.values().length][0];
    private DecodeRow[] decodeRows = new DecodeRow[0];
    private final ThreadLocal<float[][]> perThread =
            ThreadLocal.withInitial(() -> new float[ThreadUse.values().length][0]);
    private final ThreadLocal<int[][]> perThreadInts =
            ThreadLocal.withInitial(() -> new int[ThreadUse.values().length][0]);

    /** A float[] of at least {@code length} values, contents unspecified, valid until the next call for {@code use}. */
    float[] floats(Use use, int length) {
        if (shared[use.ordinal()].length < length) {
            shared[use.ordinal()] = new float[length];
        }
        return shared[use.ordinal()];
    }

    /**
     * Token row {@code t} of the product being prepared (see {@link DecodeRow}), made if this graph never
     * needed so many; called by the thread that starts the product, before its loop.
     */
    DecodeRow decodeRowToPrepare(int t) {
        if (t >= decodeRows.length) {
            DecodeRow[] grown = Arrays.copyOf(decodeRows, t + 1);
            for (int i = decodeRows.length; i < grown.length; i++) {
                grown[i] = new DecodeRow();
            }
            decodeRows = grown;
        }
        return decodeRows[t];
    }

    /** Token row {@code t} as {@link #decodeRowToPrepare} left it, for the chunks of the product on any thread. */
    DecodeRow decodeRow(int t) {
        return decodeRows[t];
    }

    /** The calling thread's float[] for {@code use}, at least {@code length} long, contents unspecified. */
    float[] threadFloats(ThreadUse use, int length) {
        float[][] mine = perThread.get();
        if (mine[use.ordinal()].length < length) {
            mine[use.ordinal()] = new float[length];
        }
        return mine[use.ordinal()];
    }

    /** The calling thread's int[] for {@code use}, at least {@code length} long, contents unspecified. */
    int[] threadInts(ThreadUse use, int length) {
        int[][] mine = perThreadInts.get();
        if (mine[use.ordinal()].length < length) {
            mine[use.ordinal()] = new int[length];
        }
        return mine[use.ordinal()];
    }
}
