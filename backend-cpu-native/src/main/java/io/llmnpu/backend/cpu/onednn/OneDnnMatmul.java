package io.llmnpu.backend.cpu.onednn;

import io.llmnpu.api.backend.BackendException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One oneDNN matmul primitive at static shapes, {@code dst[M, N] = src[M, K] · weights[K, N]}, with
 * source and destination row-major and the weights in the packed layout oneDNN chose for them
 * ({@link #weightsMd()}; pack them with {@link PackedWeights}). It is bound once to the buffers it
 * reads and writes and then run as often as needed, by one thread at a time.
 */
final class OneDnnMatmul implements AutoCloseable {

    private final OneDnn dnn;
    private final MemorySegment engine;
    private final int threads;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment srcMd;
    private final MemorySegment weightsMd;
    private final MemorySegment dstMd;
    private final MemorySegment primitive;
    private final MemorySegment stream;
    private final String implementation;
    private final MemorySegment args;
    private MemorySegment[] memories = new MemorySegment[0];
    private boolean closed;

    /**
     * @param threads OpenMP threads each run uses
     * @throws BackendException if oneDNN has no kernel for these types on this CPU
     */
    OneDnnMatmul(OneDnn dnn, MemorySegment engine, int threads, int m, int k, int n, int srcType, int weightsType,
                 int dstType) {
        this.dnn = dnn;
        this.engine = engine;
        this.threads = threads;
        MemorySegment pd = MemorySegment.NULL;
        MemorySegment created = MemorySegment.NULL;
        try {
            srcMd = arena.allocate(OneDnn.MEMORY_DESC_BYTES, 8);
            weightsMd = arena.allocate(OneDnn.MEMORY_DESC_BYTES, 8);
            dstMd = arena.allocate(OneDnn.MEMORY_DESC_BYTES, 8);
            MemorySegment anyWeights = arena.allocate(OneDnn.MEMORY_DESC_BYTES, 8);
            dnn.initMemoryDesc(srcMd, arena, new long[] {m, k}, srcType, OneDnn.TAG_AB);
            dnn.initMemoryDesc(anyWeights, arena, new long[] {k, n}, weightsType, OneDnn.TAG_ANY);
            dnn.initMemoryDesc(dstMd, arena, new long[] {m, n}, dstType, OneDnn.TAG_AB);
            pd = dnn.matmulPrimitiveDesc(engine, srcMd, anyWeights, dstMd);
            dnn.weightsMemoryDesc(pd, weightsMd);
            implementation = dnn.implementation(pd);
            created = dnn.createPrimitive(pd);
            primitive = created;
            stream = dnn.createStream(engine);
            args = OneDnn.allocateArguments(arena, 3);
        } catch (RuntimeException e) {
            if (!created.equals(MemorySegment.NULL)) {
                dnn.destroyPrimitive(created);
            }
            arena.close();
            throw new BackendException("oneDNN matmul [" + m + "x" + k + "] x [" + k + "x" + n + "]: "
                    + e.getMessage(), e);
        } finally {
            if (!pd.equals(MemorySegment.NULL)) {
                dnn.destroyPrimitiveDesc(pd);
            }
        }
    }

    /** The packed weights layout this primitive reads. */
    MemorySegment weightsMd() {
        return weightsMd;
    }

    /** The kernel oneDNN picked, e.g. {@code brg:avx512_core_vnni}. */
    String implementation() {
        return implementation;
    }

    /**
     * Points the primitive at its buffers: {@code src} [M, K] and {@code dst} [M, N] row-major, and
     * {@code weights} in {@link #weightsMd()}'s layout. All native, all kept alive by the caller.
     */
    void bind(MemorySegment src, MemorySegment weights, MemorySegment dst) {
        destroyMemories();
        MemorySegment[] made = new MemorySegment[3];
        try {
            made[0] = dnn.createMemory(srcMd, engine, src);
            made[1] = dnn.createMemory(weightsMd, engine, weights);
            made[2] = dnn.createMemory(dstMd, engine, dst);
        } finally {
            memories = made;
        }
        OneDnn.setArgument(args, 0, OneDnn.ARG_SRC, made[0]);
        OneDnn.setArgument(args, 1, OneDnn.ARG_WEIGHTS, made[1]);
        OneDnn.setArgument(args, 2, OneDnn.ARG_DST, made[2]);
    }

    /** Computes dst from the bound buffers. */
    void run() {
        if (closed) {
            throw new BackendException("the oneDNN matmul was closed");
        }
        dnn.execute(primitive, stream, args, 3, threads);
    }

    private void destroyMemories() {
        for (MemorySegment m : memories) {
            if (m != null) {
                dnn.destroyMemory(m);
            }
        }
        memories = new MemorySegment[0];
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            destroyMemories();
            dnn.destroyStream(stream);
            dnn.destroyPrimitive(primitive);
        } finally {
            arena.close();
        }
    }
}
