package io.llmnpu.scheduler;

/**
 * A list scheduler by critical path: when a device is free it takes, among the ready tasks it may
 * run (and would finish soonest, see {@link SchedulerView#finishesSoonestOn}), the one with the
 * longest path to the end of the graph, each task counted at its fastest allowed device. Ties go to
 * the lower id.
 */
public final class CriticalPathPolicy implements SchedulingPolicy {

    @Override
    public String name() {
        return "critical-path";
    }

    @Override
    public Dispatcher newRun(TaskGraph graph, CostTable costs) {
        double[] rank = LowerBounds.pathToSink(graph, costs);
        return (view, device) -> {
            int best = IDLE;
            double bestRank = Double.NEGATIVE_INFINITY;
            for (int task : view.readyTasks()) {
                if (costs.allowed(task, device) && rank[task] > bestRank && view.finishesSoonestOn(task, device)) {
                    bestRank = rank[task];
                    best = task;
                }
            }
            return best;
        };
    }
}
