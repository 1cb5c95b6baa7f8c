package io.llmnpu.backend.cpu.onednn;

import io.llmnpu.api.backend.BackendException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * An int8 weight matrix in the packed layout of a oneDNN matmul, with one scale per output row,
 * {@code weight[r][c] ≈ code[r][c] * rowScales[r]}, and each row's sum of codes (see
 * {@link OneDnnContext#int8Matmul}). Packed once per matrix when a graph is compiled
 * (a oneDNN reorder from the row-major codes) and shared by every graph that multiplies by it, through
 * {@link WeightStore}, which frees it when the last such graph closes.
 */
final class PackedWeights {

    private final Arena arena;
    private final MemorySegment md;
    private final MemorySegment data;
    private final float[] rowScales;
    private final int[] codeSums;

    private PackedWeights(Arena arena, MemorySegment md, MemorySegment data, float[] rowScales, int[] codeSums) {
        this.arena = arena;
        this.md = md;
        this.data = data;
        this.rowScales = rowScales;
        this.codeSums = codeSums;
    }

    /**
     * Reorders {@code codes}, row-major int8 [n, k] (output rows of k input features, which is oneDNN's
     * [k, n] weights in layout {@code ba}), into {@code targetMd}'s packed layout.
     *
     * @param threads OpenMP threads of the reorder
     */
    static PackedWeights pack(OneDnn dnn, MemorySegment engine, int threads, MemorySegment codes, int n, int k,
                              MemorySegment targetMd, float[] rowScales, int[] codeSums) {
        return pack(dnn, engine, threads, codes, OneDnn.S8, n, k, targetMd, rowScales, codeSums);
    }

    /** {@link #pack} for weights of another oneDNN data type (e.g. F32 or BF16, for benchmarks). */
    static PackedWeights pack(OneDnn dnn, MemorySegment engine, int threads, MemorySegment codes, int dataType,
                              int n, int k, MemorySegment targetMd, float[] rowScales, int[] codeSums) {
        Arena arena = Arena.ofShared();
        MemorySegment pd = MemorySegment.NULL;
        MemorySegment reorder = MemorySegment.NULL;
        MemorySegment stream = MemorySegment.NULL;
        MemorySegment from = MemorySegment.NULL;
        MemorySegment to = MemorySegment.NULL;
        try {
            MemorySegment md = arena.allocate(OneDnn.MEMORY_DESC_BYTES, 8);
            MemorySegment.copy(targetMd, 0, md, 0, OneDnn.MEMORY_DESC_BYTES);
            MemorySegment data = arena.allocate(dnn.memoryDescSize(md), 64);
            MemorySegment plainMd = arena.allocate(OneDnn.MEMORY_DESC_BYTES, 8);
            dnn.initMemoryDesc(plainMd, arena, new long[] {k, n}, dataType, OneDnn.TAG_BA);
            pd = dnn.reorderPrimitiveDesc(engine, plainMd, md);
            reorder = dnn.createPrimitive(pd);
            stream = dnn.createStream(engine);
            from = dnn.createMemory(plainMd, engine, codes);
            to = dnn.createMemory(md, engine, data);
            MemorySegment args = OneDnn.allocateArguments(arena, 2);
            OneDnn.setArgument(args, 0, OneDnn.ARG_FROM, from);
            OneDnn.setArgument(args, 1, OneDnn.ARG_TO, to);
            dnn.execute(reorder, stream, args, 2, threads);
            return new PackedWeights(arena, md, data, rowScales.clone(), codeSums.clone());
        } catch (RuntimeException | OutOfMemoryError e) {
            arena.close();
            throw e instanceof BackendException be ? be
                    : new BackendException("cannot pack int8 weights [" + n + "x" + k + "] for oneDNN: " + e, e);
        } finally {
            for (MemorySegment memory : new MemorySegment[] {from, to}) {
                if (!memory.equals(MemorySegment.NULL)) {
                    dnn.destroyMemory(memory);
                }
            }
            if (!stream.equals(MemorySegment.NULL)) {
                dnn.destroyStream(stream);
            }
            if (!reorder.equals(MemorySegment.NULL)) {
                dnn.destroyPrimitive(reorder);
            }
            if (!pd.equals(MemorySegment.NULL)) {
                dnn.destroyPrimitiveDesc(pd);
            }
        }
    }

    /** The packed layout. */
    MemorySegment md() {
        return md;
    }

    /** The packed codes (and what oneDNN keeps beside them, such as its int8 compensation terms). */
    MemorySegment data() {
        return data;
    }

    float rowScale(int row) {
        return rowScales[row];
    }

    /** A copy of the row scales. */
    float[] rowScales() {
        return rowScales.clone();
    }

    /** A copy of each row's sum of codes. */
    int[] codeSums() {
        return codeSums.clone();
    }

    long bytes() {
        return data.byteSize();
    }

    void free() {
        arena.close();
    }
}
