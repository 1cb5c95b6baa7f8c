package io.llmnpu.backend.cpu;

/**
 * Runs a {@link RangeTask} over [0, count), possibly split across threads: the backend's worker pool,
 * which kernels of a {@link MatrixEngine} may use for their own passes over rows.
 */
public interface ParallelLoop {

    /**
     * Runs {@code task} over every index in [0, count) exactly once and returns when all of it is done.
     *
     * @param grain the smallest number of indices worth handing to another thread
     */
    void forRange(int count, int grain, RangeTask task);

    /**
     * As {@link #forRange(int, int, RangeTask)}, split into at most {@code chunksPerThread} chunks per
     * thread, for loops whose indices all cost the same and whose end, where finished threads wait for
     * the last chunk, should be short. Loops that only run on the calling thread ignore it.
     */
    default void forRange(int count, int grain, int chunksPerThread, RangeTask task) {
        forRange(count, grain, task);
    }

    /** A loop that runs everything on the calling thread. */
    static ParallelLoop serial() {
        return (count, grain, task) -> {
            if (count > 0) {
                task.run(0, count);
            }
        };
    }
}
