package io.llmnpu.scheduler;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a policy over a task graph in simulated time: every device runs one task at a time, a task
 * starts only when its dependencies have finished, and takes exactly its cost-table time on the
 * device it was given. Whenever devices are idle they are offered work in device order (repeatedly,
 * until none takes any), then time jumps to the next task completion.
 */
public final class Simulator {
    private static final Logger LOG = LoggerFactory.getLogger(Simulator.class);

    /**
     * @throws IllegalArgumentException if the cost table does not match the graph
     * @throws IllegalStateException    if the policy picks a task that cannot run, or leaves every
     *                                  device idle with work remaining
     */
    public Schedule run(TaskGraph graph, CostTable costs, SchedulingPolicy policy) {
        if (costs.taskCount() != graph.size()) {
            throw new IllegalArgumentException("cost table has " + costs.taskCount() + " tasks, graph has " + graph.size());
        }
        Run run = new Run(graph, costs);
        SchedulingPolicy.Dispatcher dispatcher = policy.newRun(graph, costs);
        int n = graph.size();
        while (run.finished < n) {
            boolean assigned = true;
            while (assigned) {
                assigned = false;
                for (int d = 0; d < costs.deviceCount(); d++) {
                    if (run.running[d] >= 0) {
                        continue;
                    }
                    int task = dispatcher.pick(run, d);
                    if (task != SchedulingPolicy.IDLE) {
                        run.start(task, d, policy.name());
                        assigned = true;
                    }
                }
            }
            if (!run.completeNext()) {
                throw new IllegalStateException("policy " + policy.name() + " left every device idle at t="
                        + run.now + " s with " + (n - run.finished) + " tasks unfinished and ready tasks "
                        + run.ready);
            }
        }
        List<ScheduledTask> entries = new ArrayList<>(n);
        for (int t = 0; t < n; t++) {
            entries.add(new ScheduledTask(graph.task(t), run.device[t], run.start[t], run.end[t]));
        }
        Schedule schedule = new Schedule(graph, costs, policy.name(), entries);
        LOG.debug("{}: {} tasks on {} devices, makespan {} ms", policy.name(), n, costs.deviceCount(),
                schedule.makespan() * 1e3);
        return schedule;
    }

    /** Mutable state of one run; also the policies' read-only view of it. */
    private static final class Run implements SchedulerView {
        final TaskGraph graph;
        final CostTable costs;
        final double[] start;
        final double[] end;
        final int[] device;
        final int[] unfinishedPreds;
        final int[] unstartedPreds;
        final BitSet ready = new BitSet();
        final BitSet started = new BitSet();
        final BitSet done = new BitSet();
        final int[] running;
        double now;
        int finished;

        Run(TaskGraph graph, CostTable costs) {
            this.graph = graph;
            this.costs = costs;
            int n = graph.size();
            start = new double[n];
            end = new double[n];
            device = new int[n];
            unfinishedPreds = new int[n];
            unstartedPreds = new int[n];
            for (int t = 0; t < n; t++) {
                unfinishedPreds[t] = graph.predecessorCount(t);
                unstartedPreds[t] = graph.predecessorCount(t);
                if (unfinishedPreds[t] == 0) {
                    ready.set(t);
                }
            }
            running = new int[costs.deviceCount()];
            Arrays.fill(running, -1);
        }

        void start(int task, int d, String policy) {
            if (task < 0 || task >= graph.size() || !ready.get(task)) {
                throw new IllegalStateException("policy " + policy + " picked task " + task + " for "
                        + costs.device(d).name() + " at t=" + now + " s, but it is not ready");
            }
            if (!costs.allowed(task, d)) {
                throw new IllegalStateException("policy " + policy + " picked " + graph.task(task).describe()
                        + " for " + costs.device(d).name() + ", which may not run it");
            }
            ready.clear(task);
            started.set(task);
            start[task] = now;
            end[task] = now + costs.seconds(task, d);
            device[task] = d;
            running[d] = task;
            for (int s : graph.successorsView(task)) {
                unstartedPreds[s]--;
            }
        }

        /** Advances to the earliest completion and retires every task ending then; false if nothing runs. */
        boolean completeNext() {
            double next = Double.POSITIVE_INFINITY;
            for (int t : running) {
                if (t >= 0) {
                    next = Math.min(next, end[t]);
                }
            }
            if (next == Double.POSITIVE_INFINITY) {
                return false;
            }
            now = next;
            for (int d = 0; d < running.length; d++) {
                int t = running[d];
                if (t >= 0 && end[t] == next) {
                    running[d] = -1;
                    done.set(t);
                    finished++;
                    for (int s : graph.successorsView(t)) {
                        if (--unfinishedPreds[s] == 0) {
                            ready.set(s);
                        }
                    }
                }
            }
            return true;
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
        public double now() {
            return now;
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

        @Override
        public double freeAt(int d) {
            return running[d] >= 0 ? end[running[d]] : now;
        }
    }
}
