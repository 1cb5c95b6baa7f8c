package io.llmnpu.scheduler;

import java.util.ArrayList;
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
        while (!run.allFinished()) {
            boolean assigned = true;
            while (assigned) {
                assigned = false;
                for (int d = 0; d < costs.deviceCount(); d++) {
                    if (run.runningOn(d) >= 0) {
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
                        + run.now + " s with " + (n - run.finishedCount()) + " tasks unfinished and ready tasks "
                        + run.readyDescription());
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

    /** Simulated time and task timings of one run; also the policies' read-only view of it. */
    private static final class Run extends TaskProgress {
        final double[] start;
        final double[] end;
        final int[] device;
        double now;

        Run(TaskGraph graph, CostTable costs) {
            super(graph, costs);
            int n = graph.size();
            start = new double[n];
            end = new double[n];
            device = new int[n];
        }

        void start(int task, int d, String policy) {
            markStarted(task, d, policy);
            start[task] = now;
            end[task] = now + costs.seconds(task, d);
            device[task] = d;
        }

        /** Advances to the earliest completion and retires every task ending then; false if nothing runs. */
        boolean completeNext() {
            double next = Double.POSITIVE_INFINITY;
            for (int d = 0; d < costs.deviceCount(); d++) {
                int t = runningOn(d);
                if (t >= 0) {
                    next = Math.min(next, end[t]);
                }
            }
            if (next == Double.POSITIVE_INFINITY) {
                return false;
            }
            now = next;
            for (int d = 0; d < costs.deviceCount(); d++) {
                int t = runningOn(d);
                if (t >= 0 && end[t] == next) {
                    markFinished(d);
                }
            }
            return true;
        }

        @Override
        public double now() {
            return now;
        }

        @Override
        public double freeAt(int d) {
            int t = runningOn(d);
            return t >= 0 ? end[t] : now;
        }
    }
}
