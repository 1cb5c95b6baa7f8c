package io.llmnpu.backend.cpu;

import java.lang.foreign.MemorySegment;

/** One matrix-product op prepared by a {@link MatrixEngine}, run once per execution of its graph. */
public interface MatrixProduct extends AutoCloseable {

    /**
     * Computes the op: {@code out} [T, N] F32 from {@code in} [T, K] F32, both little-endian and
     * row-major at the op's static shapes. Called by one thread at a time.
     *
     * @param loop threads the product may use for its own passes (serial when the tensors are confined)
     */
    void multiply(MemorySegment in, MemorySegment out, ParallelLoop loop);

    /** Frees what {@link MatrixEngine#prepare} made; the product cannot run afterwards. */
    @Override
    void close();
}
