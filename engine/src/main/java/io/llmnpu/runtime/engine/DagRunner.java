package io.llmnpu.runtime.engine;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.scheduler.CostTable;
import io.llmnpu.scheduler.Processor;
import io.llmnpu.scheduler.SchedulingPolicy;
import io.llmnpu.scheduler.TaskGraph;
import io.llmnpu.scheduler.TaskProgress;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.IntPredicate;

/**
 * Runs a task DAG for real: one worker thread per device that has tasks, each asking a
 * {@link SchedulingPolicy} what to run next whenever it is free, under one lock; a policy that answers
 * {@link SchedulingPolicy#IDLE} is asked again when a task starts or ends. The policy sees real elapsed
 * time and judges tasks by the cost table, exactly as in the scheduler's simulator. A DAG whose tasks
 * all sit on one device runs on the calling thread in program order, with no threads to start (decode).
 *
 * <p>When a task fails, or (with several devices) a device is found unplugged before a task starts on it, no new task starts;
 * the tasks in flight finish, and the outcome says which task failed, why, and which tasks finished, so
 * that the engine can move the rest to other devices.
 */
final class DagRunner {
    /** Longest a run may stall with no task finishing before it is declared stuck. */
    private static final long STALL_NANOS = TimeUnit.MINUTES.toNanos(5);
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    /**
     * How a run ended.
     *
     * @param trace        when each finished task ran (unfinished tasks have device -1)
     * @param finished     tasks that completed
     * @param failedDevice the lane whose task failed (or was found unplugged), -1 on success
     * @param failure      why, or null
     */
    record Outcome(RunTrace trace, BitSet finished, int failedDevice, Throwable failure) {
        boolean ok() {
            return failure == null;
        }
    }

    private DagRunner() {
    }

    /**
     * Runs every task once.
     *
     * @param bodies  what each task does, by id
     * @param lanes   the devices, in cost-table order
     * @param revoked whether a lane's device was unplugged (checked before each task starts there)
     * @throws IllegalStateException if the policy leaves every device idle with work remaining
     */
    static Outcome run(TaskGraph graph, List<Processor> lanes, CostTable costs, SchedulingPolicy policy,
                       Runnable[] bodies, IntPredicate revoked) {
        int[] laneOf = new int[graph.size()];
        BitSet used = new BitSet();
        for (int t = 0; t < graph.size(); t++) {
            laneOf[t] = costs.bestDevice(t);
            used.set(laneOf[t]);
        }
        return used.cardinality() <= 1 ? inline(graph, lanes, policy, bodies, laneOf)
                : parallel(graph, lanes, costs, policy, bodies, used, revoked);
    }

    /**
     * Program order on the calling thread: one device, nothing to overlap. A device unplugged meanwhile
     * finishes the step (its backend is closed only once the step is over), as a decode step is short.
     */
    private static Outcome inline(TaskGraph graph, List<Processor> lanes, SchedulingPolicy policy, Runnable[] bodies,
                                  int[] laneOf) {
        int n = graph.size();
        int[] device = new int[n];
        long[] begin = new long[n];
        long[] finish = new long[n];
        long[] cpu = new long[n];
        Arrays.fill(device, -1);
        BitSet finished = new BitSet(n);
        long start = System.nanoTime();
        for (int t = 0; t < n; t++) {
            int d = laneOf[t];
            Throwable failure = null;
            long cpuBefore = THREADS.getCurrentThreadCpuTime();
            begin[t] = System.nanoTime();
            try {
                bodies[t].run();
            } catch (RuntimeException | LinkageError e) {
                failure = e;
            }
            finish[t] = System.nanoTime();
            cpu[t] = THREADS.getCurrentThreadCpuTime() - cpuBefore;
            if (failure != null) {
                long end = System.nanoTime();
                return new Outcome(new RunTrace(graph, lanes, policy.name(), start, end, device, begin, finish, cpu),
                        finished, d, failure);
            }
            device[t] = d;
            finished.set(t);
        }
        return new Outcome(new RunTrace(graph, lanes, policy.name(), start, System.nanoTime(), device, begin, finish, cpu),
                finished, -1, null);
    }

    private static BackendException unplugged(Processor lane) {
        return new BackendException(lane.name() + " was unplugged");
    }

    private static Outcome parallel(TaskGraph graph, List<Processor> lanes, CostTable costs, SchedulingPolicy policy,
                                    Runnable[] bodies, BitSet used, IntPredicate revoked) {
        Run run = new Run(graph, costs, policy, bodies, revoked);
        List<Thread> workers = new ArrayList<>();
        for (int d = used.nextSetBit(0); d >= 0; d = used.nextSetBit(d + 1)) {
            int lane = d;
            workers.add(Thread.ofPlatform().name("llmnpu-worker-" + lanes.get(d).name()).daemon()
                    .unstarted(() -> run.work(lane)));
        }
        run.startNanos = System.nanoTime();
        workers.forEach(Thread::start);
        boolean interrupted = false;
        for (Thread w : workers) {
            while (true) {
                try {
                    w.join();
                    break;
                } catch (InterruptedException e) {
                    // Finish the tasks in flight before returning: compiled graphs and tensors must not be
                    // freed under a running task.
                    interrupted = true;
                    run.fail(-1, new BackendException("interrupted while the engine was running", e));
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        long end = System.nanoTime();
        RunTrace trace = new RunTrace(graph, lanes, policy.name(), run.startNanos, end, run.device, run.begin,
                run.finish, run.cpuNanos);
        if (run.failure instanceof IllegalStateException stuck && run.failedDevice < 0) {
            throw stuck;
        }
        return new Outcome(trace, run.done, run.failedDevice, run.failure);
    }

    /** Shared state of one run; the policy's view of it. Guarded by {@code this}. */
    private static final class Run extends TaskProgress {
        final SchedulingPolicy.Dispatcher dispatcher;
        final String policy;
        final Runnable[] bodies;
        final IntPredicate revoked;
        final int[] device;
        final long[] begin;
        final long[] finish;
        final long[] cpuNanos;
        final BitSet done = new BitSet();
        long startNanos;
        Throwable failure;
        int failedDevice = -1;

        Run(TaskGraph graph, CostTable costs, SchedulingPolicy policy, Runnable[] bodies, IntPredicate revoked) {
            super(graph, costs);
            this.dispatcher = policy.newRun(graph, costs);
            this.policy = policy.name();
            this.bodies = bodies;
            this.revoked = revoked;
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
                    bodies[task].run();
                } catch (RuntimeException | LinkageError e) {
                    fail(d, e);
                    complete(task, d, false);
                    return;
                }
                cpuNanos[task] = THREADS.getCurrentThreadCpuTime() - cpuBefore;
                complete(task, d, true);
            }
        }

        /** Blocks until the policy gives {@code d} a task; -1 when the run is over or failed. */
        synchronized int next(int d) {
            long lastChange = System.nanoTime();
            int seenFinished = finishedCount();
            while (failure == null && !allFinished()) {
                int task = dispatcher.pick(this, d);
                if (task != SchedulingPolicy.IDLE) {
                    if (revoked.test(d)) {
                        fail(d, unplugged(costs.device(d)));
                        return -1;
                    }
                    try {
                        markStarted(task, d, policy);
                    } catch (IllegalStateException e) {
                        fail(-1, e);
                        return -1;
                    }
                    device[task] = d;
                    begin[task] = System.nanoTime();
                    notifyAll();    // a policy may have been waiting for this start (in-order)
                    return task;
                }
                if (nothingRuns() && everyoneIdle(d)) {
                    fail(-1, new IllegalStateException("policy " + policy + " left every device idle with "
                            + (graph.size() - finishedCount()) + " tasks unfinished; ready: " + readyDescription()));
                    return -1;
                }
                try {
                    wait(1000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    fail(-1, new BackendException("interrupted while waiting for work", e));
                    return -1;
                }
                if (finishedCount() != seenFinished) {
                    seenFinished = finishedCount();
                    lastChange = System.nanoTime();
                } else if (System.nanoTime() - lastChange > STALL_NANOS) {
                    fail(-1, new IllegalStateException("run stalled: no task finished for 5 minutes"));
                    return -1;
                }
            }
            return -1;
        }

        private boolean nothingRuns() {
            for (int e = 0; e < costs.deviceCount(); e++) {
                if (runningOn(e) >= 0) {
                    return false;
                }
            }
            return true;
        }

        /** With nothing running, whether every other device, asked now, would stay idle too. */
        private boolean everyoneIdle(int d) {
            for (int e = 0; e < costs.deviceCount(); e++) {
                if (e != d && dispatcher.pick(this, e) != SchedulingPolicy.IDLE) {
                    notifyAll();    // another worker has work after all: wake it to ask again
                    return false;
                }
            }
            return true;
        }

        synchronized void complete(int task, int d, boolean ok) {
            finish[task] = System.nanoTime();
            markFinished(d);
            if (ok) {
                done.set(task);
            } else {
                device[task] = -1;
            }
            notifyAll();
        }

        synchronized void fail(int d, Throwable e) {
            if (failure == null) {
                failure = e;
                failedDevice = d;
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
