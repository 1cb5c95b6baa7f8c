package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.VectorSpecs.F32;
import static io.llmnpu.backend.cpu.VectorSpecs.I32;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Causal grouped-query attention over an F32 KV cache, as specified by {@code Op.Attention}: the k and
 * v rows of non-padding rows are stored at their positions first, then every (row, head) pair attends
 * cache rows first..pos (first = 0, or the start of the sliding window) with a softmax of scale * q·k,
 * soft-capped first when the op asks for it. Up to {@link #BATCH_MIN_ROWS} rows (decode)
 * each pair is computed on its own, spread over the pool; from there on (prefill) {@link
 * BatchedAttention} takes query tiles against the restaged cache. Within each path a pair is computed
 * the same way whatever the batch and the thread count; the two paths agree to rounding.
 */
record AttentionKernel(String label, int qSlot, int kSlot, int vSlot, int positionsSlot, int kCacheSlot,
                       int vCacheSlot, int outSlot, int rows, int heads, int kvHeads, int headDim,
                       int contextLength, float scale, float softCap, int window, BatchedAttention batched,
                       Workspace workspace) implements Kernel {

    /** Rows from which restaging the cache for tiled attention pays for itself. */
    static final int BATCH_MIN_ROWS = 8;

    /**
     * Multiply-adds a chunk of (row, head) pairs should hold before it is handed to another thread: a
     * hand-off costs a few microseconds, which a small model's heads (8 dimensions, a few dozen
     * positions) do not repay.
     */
    private static final int MIN_CHUNK_WORK = 16384;

    @Override
    public void run(Tensor[] values, ParallelLoop loop) {
        MemorySegment q = values[qSlot].data();
        MemorySegment k = values[kSlot].data();
        MemorySegment v = values[vSlot].data();
        MemorySegment kCache = values[kCacheSlot].data();
        MemorySegment vCache = values[vCacheSlot].data();
        MemorySegment out = values[outSlot].data();
        int[] positions = readPositions(values[positionsSlot].data());

        long kvRowBytes = (long) kvHeads * headDim * Float.BYTES;
        for (int t = 0; t < rows; t++) {
            int pos = positions[t];
            if (pos >= 0) {
                MemorySegment.copy(k, t * kvRowBytes, kCache, pos * kvRowBytes, kvRowBytes);
                MemorySegment.copy(v, t * kvRowBytes, vCache, pos * kvRowBytes, kvRowBytes);
            }
        }
        if (rows >= BATCH_MIN_ROWS) {
            batched.attend(q, kCache, vCache, out, positions, loop);
            return;
        }
        int maxPos = 0;
        for (int pos : positions) {
            maxPos = Math.max(maxPos, pos);
        }
        int grain = Math.max(1, MIN_CHUNK_WORK / (2 * (maxPos + 1) * headDim));
        int scores = maxPos + 1;
        loop.forRange(rows * heads, grain, (from, to) -> {
            float[] weights = workspace.threadFloats(Workspace.ThreadUse.ATTENTION_NUMERATORS, scores);
            float[] acc = workspace.threadFloats(Workspace.ThreadUse.ATTENTION_SUMS, headDim);
            for (int i = from; i < to; i++) {
                attend(q, kCache, vCache, out, positions[i / heads], i / heads, i % heads, weights, acc);
            }
        });
    }

    /** Reads and checks all positions before the caches are touched, so a bad one changes nothing. */
    private int[] readPositions(MemorySegment seg) {
        int[] positions = new int[rows];
        for (int t = 0; t < rows; t++) {
            int pos = seg.get(I32, (long) t * Integer.BYTES);
            if (pos >= contextLength) {
                throw new BackendException(label + ": row " + t + " has position " + pos
                        + " but the KV cache holds only " + contextLength + " positions");
            }
            positions[t] = pos;
        }
        return positions;
    }

    private void attend(MemorySegment q, MemorySegment kCache, MemorySegment vCache, MemorySegment out,
                        int pos, int row, int head, float[] weights, float[] acc) {
        // q and out share the [rows, heads * headDim] layout, so one offset addresses both.
        long outOff = ((long) row * heads + head) * headDim * Float.BYTES;
        if (pos < 0) {
            out.asSlice(outOff, (long) headDim * Float.BYTES).fill((byte) 0);
            return;
        }
        long kvStride = (long) kvHeads * headDim * Float.BYTES;
        long kvHeadOff = (long) (head / (heads / kvHeads)) * headDim * Float.BYTES;
        int first = window == 0 ? 0 : Math.max(0, pos - window + 1);
        for (int j = first; j <= pos; j++) {
            weights[j] = VectorMath.dot(q, outOff, kCache, j * kvStride + kvHeadOff, headDim);
        }
        float sum = VectorMath.softmaxNumerators(weights, first, pos + 1 - first, scale, softCap);
        Arrays.fill(acc, 0, headDim, 0f);
        for (int j = first; j <= pos; j++) {
            VectorMath.addScaled(acc, weights[j], vCache, j * kvStride + kvHeadOff, headDim);
        }
        float inv = 1f / sum;
        for (int d = 0; d < headDim; d++) {
            out.set(F32, outOff + (long) d * Float.BYTES, acc[d] * inv);
        }
    }
}
