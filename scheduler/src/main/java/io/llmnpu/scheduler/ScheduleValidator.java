package io.llmnpu.scheduler;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Checks a schedule against its graph and cost table: each task on a device allowed to run it, for
 * exactly its cost there, after all its dependencies have ended, and never two tasks at once on a
 * device. Independent of the simulator, so it can judge any schedule.
 */
public final class ScheduleValidator {
    /** Relative slack for rounding in start + duration sums. */
    private static final double EPS = 1e-9;

    /** Every rule the schedule breaks, as sentences; empty when it is valid. */
    public List<String> violations(Schedule schedule) {
        TaskGraph graph = schedule.graph();
        CostTable costs = schedule.costs();
        List<String> problems = new ArrayList<>();
        double tolerance = EPS * Math.max(1, schedule.makespan());
        for (ScheduledTask e : schedule.entries()) {
            int t = e.task().id();
            int d = e.device();
            if (d < 0 || d >= costs.deviceCount()) {
                problems.add(e.task().describe() + " is on unknown device " + d);
                continue;
            }
            if (!costs.allowed(t, d)) {
                problems.add(e.task().describe() + " runs on " + costs.device(d).name() + ", which may not run it");
            } else if (Math.abs(e.duration() - costs.seconds(t, d)) > tolerance) {
                problems.add(e.task().describe() + " takes " + e.duration() + " s on " + costs.device(d).name()
                        + " instead of " + costs.seconds(t, d) + " s");
            }
            if (e.start() < -tolerance) {
                problems.add(e.task().describe() + " starts before time 0");
            }
            for (int p : graph.predecessorsView(t)) {
                ScheduledTask before = schedule.entry(p);
                if (e.start() < before.end() - tolerance) {
                    problems.add(e.task().describe() + " starts at " + e.start() + " s before its dependency "
                            + before.task().describe() + " ends at " + before.end() + " s");
                }
            }
        }
        for (int d = 0; d < costs.deviceCount(); d++) {
            final int device = d;
            List<ScheduledTask> lane = schedule.entries().stream().filter(e -> e.device() == device)
                    .sorted(Comparator.comparingDouble(ScheduledTask::start).thenComparingDouble(ScheduledTask::end))
                    .toList();
            for (int i = 1; i < lane.size(); i++) {
                if (lane.get(i).start() < lane.get(i - 1).end() - tolerance) {
                    problems.add(costs.device(d).name() + " runs " + lane.get(i - 1).task().describe() + " and "
                            + lane.get(i).task().describe() + " at the same time");
                }
            }
        }
        return problems;
    }

    /**
     * @throws IllegalStateException listing the first violations if the schedule is invalid
     */
    public void check(Schedule schedule) {
        List<String> problems = violations(schedule);
        if (!problems.isEmpty()) {
            throw new IllegalStateException("invalid schedule from " + schedule.policy() + " (" + problems.size()
                    + " violations): " + String.join("; ", problems.subList(0, Math.min(5, problems.size()))));
        }
    }
}
