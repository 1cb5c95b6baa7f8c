package io.llmnpu.runtime.prefill;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.scheduler.CostTable;
import io.llmnpu.scheduler.SchedulingPolicy;
import io.llmnpu.scheduler.TaskGraph;
import io.llmnpu.scheduler.TaskProgress;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * Runs a {@link ChunkedPrefill} for real with one worker thread per device (the NPU driver and one
 * CPU core), asking a {@link SchedulingPolicy} what each worker runs next. Whenever a worker is free
 * it offers itself to the policy under one lock; a policy that answers {@link SchedulingPolicy#IDLE}
 * is asked again when a task starts or ends. The policy sees real elapsed time and judges tasks by a
 * cost table (typically measured in an earlier run), exactly as in the scheduler's simulator.
 */
public final class PrefillExecutor {
    /** Longest a run may stall with no task finishing before it is declared stuck. */
    private static final long STALL_NANOS = TimeUnit.MINUTES.toNanos(5);

    /**
     * Per-thread CPU time shows how much of a task's wall time its worker really ran: on a shared or
     * oversubscribed host, concurrent workers can lose more to other processes than they gain.
     */
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private final ChunkedPrefill prefill;

    public PrefillExecutor(ChunkedPrefill prefill) {
        this.prefill = prefill;
    }

    /**
     * Runs every task once.
     *
     * @param costs estimated seconds of each task on each device ({@link ChunkedPrefill#NPU}, {@link ChunkedPrefill#CPU})
     * @throws BackendException      if a task fails (the first failure is the cause)
     * @throws IllegalStateException if the policy leaves both devices idle with work remaining
     */
    public PrefillTrace run(SchedulingPolicy policy, CostTable costs) {
        TaskGraph graph = prefill.graph();
        if (costs.taskCount() != graph.size() || costs.deviceCount() != 2) {
            throw new IllegalArgumentException("cost table of " + costs.taskCount() + " tasks on " + costs.deviceCount()
                    + " devices does not fit a prefill of " + graph.size() + " tasks on 2 devices");
        }
        Run run = new Run(graph, costs, policy.newRun(graph, costs), policy.name());
        Thread[] workers = new Thread[2];
        for (int d = 0; d < 2; d++) {
            int device = d;
            workers[d] = Thread.ofPlatform().name(d == ChunkedPrefill.NPU ? "llmnpu-npu-worker" : "llmnpu-cpu-worker")
                    .unstarted(() -> run.work(device));
        }
        run.startNanos = System.nanoTime();
        for (Thread w : workers) {
            w.start();
        }
        try {
            for (Thread w : workers) {
                w.join();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            run.fail(new BackendException("interrupted while waiting for prefill workers", e));
            for (Thread w : workers) {
                w.interrupt();
            }
        }
        long end = System.nanoTime();
        if (run.failure != null) {
            if (run.failure instanceof RuntimeException re) {
                throw re;
            }
            throw new BackendException("prefill task failed: " + run.failure, run.failure);
        }
        return new PrefillTrace(graph, policy.name(), run.startNanos, end, run.device, run.begin, run.finish,
                run.cpuNanos);
    }

    /** Shared state of one run; the policy's view of it. Guarded by {@code this}. */
    private final class Run extends TaskProgress {
        final SchedulingPolicy.Dispatcher dispatcher;
        final String policy;
        final int[] device;
        final long[] begin;
        final long[] finish;
        final long[] cpuNanos;
        long startNanos;
        Throwable failure;

        Run(TaskGraph graph, CostTable costs, SchedulingPolicy.Dispatcher dispatcher, String policy) {
            super(graph, costs);
            this.dispatcher = dispatcher;
            this.policy = policy;
            int n = graph.size();
            device = new int[n];
            begin = new long[n];
            finish = new long[n];
            cpuNanos = new long[n];
            Arrays.fill(device, -1);
        }

        void work(int d) {
            while (true) {
                int task = next(d);
                if (task < 0) {
                    return;
                }
                long cpuBefore = THREADS.getCurrentThreadCpuTime();
                try {
                    prefill.job(task).body().run();
                } catch (Throwable e) {
                    fail(e);
                    return;
                }
                cpuNanos[task] = THREADS.getCurrentThreadCpuTime() - cpuBefore;
                complete(task, d);
            }
        }

        /** Blocks until the policy gives {@code d} a task; -1 when the run is over or failed. */
        synchronized int next(int d) {
            long lastChange = System.nanoTime();
            int seenFinished = finishedCount();
            while (failure == null && !allFinished()) {
                int task = dispatcher.pick(this, d);
                if (task != SchedulingPolicy.IDLE) {
                    try {
                        markStarted(task, d, policy);
                    } catch (IllegalStateException e) {
                        fail(e);
                        return -1;
                    }
                    device[task] = d;
                    begin[task] = System.nanoTime();
                    notifyAll();    // a policy may have been waiting for this start (in-order)
                    return task;
                }
                if (runningOn(0) < 0 && runningOn(1) < 0 && idleBoth(d)) {
                    fail(new IllegalStateException("policy left both devices idle with " + (graph.size() - finishedCount())
                            + " tasks unfinished; ready: " + readyDescription()));
                    return -1;
                }
                try {
                    wait(1000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    fail(e);
                    return -1;
                }
                if (finishedCount() != seenFinished) {
                    seenFinished = finishedCount();
                    lastChange = System.nanoTime();
                } else if (System.nanoTime() - lastChange > STALL_NANOS) {
                    fail(new IllegalStateException("prefill stalled: no task finished for 5 minutes"));
                    return -1;
                }
            }
            return -1;
        }

        /** With nothing running, whether the other device, asked now, would stay idle too. */
        private boolean idleBoth(int d) {
            int other = 1 - d;
            if (dispatcher.pick(this, other) == SchedulingPolicy.IDLE) {
                return true;
            }
            notifyAll();    // the other worker has work after all: wake it to ask again
            return false;
        }

        synchronized void complete(int task, int d) {
            finish[task] = System.nanoTime();
            markFinished(d);
            notifyAll();
        }

        synchronized void fail(Throwable e) {
            if (failure == null) {
                failure = e;
            }
            notifyAll();
        }

        @Override
        public double now() {
            return (System.nanoTime() - startNanos) * 1e-9;
        }

        @Override
        public double freeAt(int d) {
            int t = runningOn(d);
            double now = now();
            if (t < 0) {
                return now;
            }
            return Math.max(now, (begin[t] - startNanos) * 1e-9 + costs.seconds(t, d));
        }
    }
}
