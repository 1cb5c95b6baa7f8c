package io.llmnpu.backend.cpu;

import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * out[t] = weight · in[t]. A few token rows (decode) take the row-dot path, which streams each weight
 * row once from memory and is bound by memory bandwidth; from {@link #GEMM_MIN_ROWS} rows on (prefill)
 * the cache-blocked {@link TiledGemm}, which is bound by arithmetic. Either way the output features are
 * spread over the pool, each output computed by one thread. {@code weight} is the tensor the kernels
 * read, which may be the backend's rearranged copy of the op's weight; its rows are split between
 * threads in whole groups of {@code rowGroup} rows (1 for the file layouts, a group of
 * {@link InterleavedRows} otherwise).
 */
record LinearKernel(int inSlot, Tensor weight, int outSlot, int tokens, int k, int n, int rowGroup,
                    MatmulRows matmul, TiledGemm gemm) implements Kernel {

    /** Token rows from which the tiled GEMM beats one pass of row dot products per four rows. */
    static final int GEMM_MIN_ROWS = 12;

    /**
     * Multiply-adds a chunk should hold at least, so that handing it to another thread pays off (about
     * 10 us of decode: smaller products run on fewer threads, or on the calling thread alone).
     */
    private static final int MIN_CHUNK_WORK = 131072;

    /**
     * Chunks per thread of a decode product, at most: its rows all cost the same (one pass over their
     * weights), and the finer the split, the shorter the product's end, where a thread that has finished
     * waits for the other's last chunk. Against the pool's default of 4 (with 32k multiply-adds a chunk),
     * builds alternated, tg64 tok/s: Qwen2-0.5B Q4_K_M 43.4 and 40.0 -> 48.5 and 43.9, TinyLlama Q4_K_M
     * 29.4 and 34.8 -> 32.2 and 31.8 (16 chunks of 32k multiply-adds: 33.1 and 39.7 for Qwen2, whose
     * 896-wide products then came in chunks of a few microseconds).
     */
    private static final int DECODE_CHUNKS_PER_THREAD = 16;

    @Override
    public void run(Tensor[] values, ParallelLoop loop) {
        MemorySegment x = values[inSlot].data();
        MemorySegment out = values[outSlot].data();
        MemorySegment w = weight.data();
        if (tokens >= GEMM_MIN_ROWS) {
            gemm.multiply(w, x, out, tokens, k, n, loop);
            return;
        }
        int grain = (int) Math.max(1, MIN_CHUNK_WORK / ((long) k * tokens * rowGroup));
        matmul.prepare(x, tokens, k);
        loop.forRange(n / rowGroup, grain, DECODE_CHUNKS_PER_THREAD, (from, to) ->
                matmul.compute(w, x, out, tokens, k, n, from * rowGroup, to * rowGroup));
    }
}
