package io.llmnpu.scheduler;

import java.util.Arrays;
import java.util.BitSet;

/**
 * Which tasks of a graph are ready, started and finished, and what each device runs: the bookkeeping
 * a simulated run and a real one share, and the part of {@link SchedulerView} that follows from it.
 * Subclasses supply the clock ({@link #now()}) and when a busy device will be free
 * ({@link #freeAt(int)}). Not thread-safe: a real executor guards it with its own lock.
 */
public abstract class TaskProgress implements SchedulerView {
    protected final TaskGraph graph;
    protected final CostTable costs;
    private final int[] unfinishedPreds;
    private final int[] unstartedPreds;
    private final BitSet ready = new BitSet();
    private final BitSet started = new BitSet();
    private final BitSet done = new BitSet();
    private final int[] running;
    private int finished;

    protected TaskProgress(TaskGraph graph, CostTable costs) {
        this.graph = graph;
        this.costs = costs;
        int n = graph.size();
        unfinishedPreds = new int[n];
        unstartedPreds = new int[n];
        for (int t = 0; t < n; t++) {
            unfinishedPreds[t] = graph.predecessorCount(t);
            unstartedPreds[t] = unfinishedPreds[t];
            if (unfinishedPreds[t] == 0) {
                ready.set(t);
            }
        }
        running = new int[costs.deviceCount()];
        Arrays.fill(running, -1);
    }

    /**
     * Records that {@code task} starts on device {@code d}.
     *
     * @throws IllegalStateException naming {@code policy} if the task is not ready or may not run there
     */
    protected void markStarted(int task, int d, String policy) {
        if (task < 0 || task >= graph.size() || !ready.get(task)) {
            throw new IllegalStateException("policy " + policy + " picked task " + task + " for "
                    + costs.device(d).name() + " at t=" + now() + " s, but it is not ready");
        }
        if (!costs.allowed(task, d)) {
            throw new IllegalStateException("policy " + policy + " picked " + graph.task(task).describe()
                    + " for " + costs.device(d).name() + ", which may not run it");
        }
        ready.clear(task);
        started.set(task);
        running[d] = task;
        for (int s : graph.successorsView(task)) {
            unstartedPreds[s]--;
        }
    }

    /** Records that the task running on device {@code d} finished, and readies its successors. */
    protected void markFinished(int d) {
        int task = running[d];
        running[d] = -1;
        done.set(task);
        finished++;
        for (int s : graph.successorsView(task)) {
            if (--unfinishedPreds[s] == 0) {
                ready.set(s);
            }
        }
    }

    /** The task device {@code d} runs, or -1 when it is idle. */
    public int runningOn(int d) {
        return running[d];
    }

    /** Number of tasks finished so far. */
    public int finishedCount() {
        return finished;
    }

    public boolean allFinished() {
        return finished == graph.size();
    }

    /** The ready tasks as a set, for messages. */
    protected String readyDescription() {
        return ready.toString();
    }

    @Override
    public TaskGraph graph() {
        return graph;
    }

    @Override
    public CostTable costs() {
        return costs;
    }

    @Override
    public boolean isReady(int task) {
        return ready.get(task);
    }

    @Override
    public int[] readyTasks() {
        return ready.stream().toArray();
    }

    @Override
    public boolean isStarted(int task) {
        return started.get(task);
    }

    @Override
    public boolean isFinished(int task) {
        return done.get(task);
    }

    @Override
    public int firstUnstarted() {
        int t = started.nextClearBit(0);
        return t < graph.size() ? t : -1;
    }

    @Override
    public int unstartedPredecessors(int task) {
        return unstartedPreds[task];
    }
}
