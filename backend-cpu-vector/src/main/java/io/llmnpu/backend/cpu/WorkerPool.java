package io.llmnpu.backend.cpu;

import io.llmnpu.api.backend.BackendException;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The backend's own kernel threads and a cheap parallel-for over them.
 *
 * <p>A loop of {@code parallelism} ways uses {@code parallelism - 1} worker threads plus the calling
 * thread, which takes chunks like any worker instead of idling until the others finish. Chunks are
 * claimed with one atomic increment each (dynamic scheduling, so a descheduled thread does not stall
 * the loop), and the only other synchronisation is one counter of unfinished chunks. Between loops,
 * workers spin briefly (a transformer layer issues its ops back to back) and then park.
 *
 * <p>One loop runs at a time. A loop started while another is running (another compiled graph on
 * another thread, or a kernel that nests a loop) runs on its calling thread instead of waiting.
 */
final class WorkerPool implements ParallelLoop, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(WorkerPool.class);

    /** Chunks per participating thread: enough to even out uneven progress, few enough to stay cheap. */
    private static final int CHUNKS_PER_THREAD = 4;

    private final Thread[] workers;
    private final int parallelism;
    private final long spinNanos;
    private final AtomicBoolean busy = new AtomicBoolean();
    private final AtomicLong generation = new AtomicLong();
    private volatile Job job;
    private volatile boolean closed;

    /**
     * @param parallelism threads a loop may use, the caller included
     * @param namePrefix  worker thread names are this prefix followed by 1, 2, ...
     * @param spinNanos   how long an idle worker spins before it parks
     */
    WorkerPool(int parallelism, String namePrefix, long spinNanos) {
        if (parallelism < 1) {
            throw new IllegalArgumentException("parallelism must be >= 1, got " + parallelism);
        }
        this.parallelism = parallelism;
        this.spinNanos = spinNanos;
        this.workers = new Thread[parallelism - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = Thread.ofPlatform().daemon().name(namePrefix + (i + 1)).unstarted(this::workerLoop);
        }
        for (Thread w : workers) {
            w.start();
        }
    }

    int parallelism() {
        return parallelism;
    }

    /** The worker threads (a snapshot; empty for a single-threaded pool). */
    List<Thread> threads() {
        return List.of(workers);
    }

    /** Whether worker threads may touch {@code segment} (a confined segment belongs to one thread only). */
    boolean canShare(MemorySegment segment) {
        return workers.length == 0 || segment.isAccessibleBy(workers[0]);
    }

    @Override
    public void forRange(int count, int grain, RangeTask task) {
        forRange(count, grain, CHUNKS_PER_THREAD, task);
    }

    @Override
    public void forRange(int count, int grain, int chunksPerThread, RangeTask task) {
        if (count <= 0) {
            return;
        }
        if (closed) {
            throw new BackendException("the cpu backend is closed; its worker threads are gone");
        }
        int chunks = (int) Math.min((count + (long) Math.max(1, grain) - 1) / Math.max(1, grain),
                (long) parallelism * Math.max(1, chunksPerThread));
        if (chunks <= 1 || workers.length == 0 || !busy.compareAndSet(false, true)) {
            task.run(0, count);
            return;
        }
        try {
            Job j = new Job(task, count, chunks, Thread.currentThread());
            job = j;
            generation.incrementAndGet();
            for (Thread w : workers) {
                LockSupport.unpark(w);
            }
            j.work();
            j.awaitDone(spinNanos);
            job = null;
            j.rethrow();
        } finally {
            busy.set(false);
        }
    }

    private void workerLoop() {
        long seen = 0;
        while (true) {
            long now = awaitNewGeneration(seen);
            if (closed) {
                return;
            }
            seen = now;
            Job j = job;
            if (j != null) {
                j.work();
            }
        }
    }

    private long awaitNewGeneration(long seen) {
        long g;
        long spinStart = System.nanoTime();
        while ((g = generation.get()) == seen) {
            if (System.nanoTime() - spinStart < spinNanos) {
                Thread.onSpinWait();
            } else {
                // A submitter bumps the generation before unparking, so a permit is never lost.
                LockSupport.park(this);
            }
        }
        return g;
    }

    /** Stops the workers and waits for them to exit. Loops started afterwards fail. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        generation.incrementAndGet();
        List<Thread> stuck = new ArrayList<>();
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
        for (Thread w : workers) {
            try {
                if (!w.join(Duration.ofSeconds(10))) {
                    stuck.add(w);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        if (!stuck.isEmpty()) {
            LOG.warn("cpu worker threads {} did not stop within 10 s; a kernel may still be running", stuck);
        }
    }

    /** One parallel loop: its chunks, who is working on them, and the first failure. */
    private static final class Job {
        private final RangeTask task;
        private final int count;
        private final int chunks;
        private final Thread owner;
        private final AtomicInteger nextChunk = new AtomicInteger();
        private final AtomicInteger unfinished;
        private volatile Throwable failure;

        Job(RangeTask task, int count, int chunks, Thread owner) {
            this.task = task;
            this.count = count;
            this.chunks = chunks;
            this.owner = owner;
            this.unfinished = new AtomicInteger(chunks);
        }

        void work() {
            int c;
            while ((c = nextChunk.getAndIncrement()) < chunks) {
                try {
                    if (failure == null) {
                        task.run(boundary(c), boundary(c + 1));
                    }
                } catch (Throwable t) {
                    if (failure == null) {
                        failure = t;
                    }
                } finally {
                    if (unfinished.decrementAndGet() == 0) {
                        LockSupport.unpark(owner);
                    }
                }
            }
        }

        private int boundary(int chunk) {
            return (int) ((long) count * chunk / chunks);
        }

        void awaitDone(long spinNanos) {
            long spinStart = System.nanoTime();
            while (unfinished.get() > 0) {
                if (System.nanoTime() - spinStart < spinNanos) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(1));
                }
            }
        }

        void rethrow() {
            Throwable t = failure;
            if (t instanceof RuntimeException e) {
                throw e;
            }
            if (t instanceof Error e) {
                throw e;
            }
            if (t != null) {
                throw new BackendException("cpu kernel failed: " + t, t);
            }
        }
    }
}
