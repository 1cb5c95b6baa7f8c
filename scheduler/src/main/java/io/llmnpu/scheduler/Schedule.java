package io.llmnpu.scheduler;

import io.llmnpu.api.backend.DeviceKind;
import java.util.List;
import java.util.OptionalDouble;

/**
 * The outcome of one simulated run: every task's device, start and end, and the measures that
 * judge it. Times are seconds from the start of prefill.
 */
public final class Schedule {
    private final TaskGraph graph;
    private final CostTable costs;
    private final String policy;
    private final List<ScheduledTask> entries;   // by task id
    private final double makespan;

    /**
     * @param entries one entry per task, in task id order
     */
    public Schedule(TaskGraph graph, CostTable costs, String policy, List<ScheduledTask> entries) {
        if (entries.size() != graph.size()) {
            throw new IllegalArgumentException("schedule has " + entries.size() + " entries for "
                    + graph.size() + " tasks");
        }
        for (int i = 0; i < entries.size(); i++) {
            if (entries.get(i).task().id() != i) {
                throw new IllegalArgumentException("schedule entry " + i + " is for task " + entries.get(i).task().id());
            }
        }
        this.graph = graph;
        this.costs = costs;
        this.policy = policy;
        this.entries = List.copyOf(entries);
        this.makespan = entries.stream().mapToDouble(ScheduledTask::end).max().orElse(0);
    }

    public TaskGraph graph() {
        return graph;
    }

    public CostTable costs() {
        return costs;
    }

    /** Name of the policy that made it. */
    public String policy() {
        return policy;
    }

    public List<ScheduledTask> entries() {
        return entries;
    }

    public ScheduledTask entry(int task) {
        return entries.get(task);
    }

    /** End of the last task (the run starts at 0). */
    public double makespan() {
        return makespan;
    }

    /** Seconds {@code device} spent running tasks. */
    public double busySeconds(int device) {
        double busy = 0;
        for (ScheduledTask e : entries) {
            if (e.device() == device) {
                busy += e.duration();
            }
        }
        return busy;
    }

    /** Seconds of the makespan {@code device} spent idle. */
    public double idleSeconds(int device) {
        return makespan - busySeconds(device);
    }

    /** Share of the makespan {@code device} was busy, 0 to 1 (0 for an empty schedule). */
    public double busyFraction(int device) {
        return makespan > 0 ? busySeconds(device) / makespan : 0;
    }

    /**
     * Bubble share of the NPUs: their idle time between each NPU's first start and its last end,
     * over the sum of those spans. Idle time before an NPU's first task or after its last one is
     * not a bubble (the paper counts stalls while the NPU has work in flight). Empty when no NPU
     * ran anything.
     */
    public OptionalDouble npuBubbleFraction() {
        double span = 0;
        double busy = 0;
        for (int d = 0; d < costs.deviceCount(); d++) {
            if (costs.device(d).kind() == DeviceKind.NPU) {
                double[] s = spanAndBusy(d);
                span += s[0];
                busy += s[1];
            }
        }
        return span > 0 ? OptionalDouble.of((span - busy) / span) : OptionalDouble.empty();
    }

    /** Like {@link #npuBubbleFraction()} for one device. */
    public OptionalDouble bubbleFraction(int device) {
        double[] s = spanAndBusy(device);
        return s[0] > 0 ? OptionalDouble.of((s[0] - s[1]) / s[0]) : OptionalDouble.empty();
    }

    private double[] spanAndBusy(int device) {
        double first = Double.POSITIVE_INFINITY;
        double last = Double.NEGATIVE_INFINITY;
        double busy = 0;
        for (ScheduledTask e : entries) {
            if (e.device() == device) {
                first = Math.min(first, e.start());
                last = Math.max(last, e.end());
                busy += e.duration();
            }
        }
        // Summed durations can exceed the span by a rounding error; a bubble is never negative.
        return last > first ? new double[] {last - first, Math.min(busy, last - first)} : new double[] {0, 0};
    }
}
