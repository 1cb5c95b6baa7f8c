package io.llmnpu.backend.npu.reference;

import io.llmnpu.api.backend.BackendException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntBinaryOperator;

/**
 * The reference NPU's compute cores: the calling thread plus {@code cores - 1} worker threads that
 * split the row groups of a GEMM between them. With one core everything runs on the caller.
 */
final class NpuCores implements AutoCloseable {

    /** Work on indices [from, to). */
    @FunctionalInterface
    interface RangeTask {
        void run(int from, int to);
    }

    private final int cores;
    private final ExecutorService workers;

    NpuCores(int cores) {
        if (cores < 1) {
            throw new IllegalArgumentException("an NPU needs at least one core, got " + cores);
        }
        this.cores = cores;
        this.workers = cores == 1 ? null
                : Executors.newFixedThreadPool(cores - 1, Thread.ofPlatform().daemon().name("llmnpu-npu-ref-", 1).factory());
    }

    int cores() {
        return cores;
    }

    /** Runs {@code task} over [0, count) split into at most {@code cores} parts; returns when all are done. */
    void forRange(int count, int minPerPart, RangeTask task) {
        int parts = Math.min(cores, Math.max(1, count / Math.max(1, minPerPart)));
        if (parts <= 1 || workers == null) {
            task.run(0, count);
            return;
        }
        IntBinaryOperator bound = (part, total) -> (int) ((long) count * part / total);
        List<Future<?>> pending = new ArrayList<>(parts - 1);
        for (int p = 1; p < parts; p++) {
            int from = bound.applyAsInt(p, parts);
            int to = bound.applyAsInt(p + 1, parts);
            pending.add(workers.submit(() -> task.run(from, to)));
        }
        task.run(0, bound.applyAsInt(1, parts));
        for (Future<?> f : pending) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new BackendException("interrupted while the npu-ref cores were working", e);
            } catch (ExecutionException e) {
                throw new BackendException("npu-ref kernel failed: " + e.getCause(), e.getCause());
            }
        }
    }

    @Override
    public void close() {
        if (workers != null) {
            workers.shutdownNow();
        }
    }
}
