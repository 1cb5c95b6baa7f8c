package io.llmnpu.runtime.engine;

import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.scheduler.CostTable;
import io.llmnpu.scheduler.Processor;
import io.llmnpu.scheduler.Schedule;
import io.llmnpu.scheduler.ScheduledTask;
import io.llmnpu.scheduler.TaskGraph;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What one engine run did: when each task ran and on which device, in {@link System#nanoTime} units,
 * and how much CPU time its worker thread used. Converts to a scheduler {@link Schedule} (with the
 * measured durations as its cost table), so the scheduler's validator and Gantt chart apply to real
 * runs. A task that did not run (the run failed first) has device -1.
 *
 * @param graph    the run's task DAG
 * @param devices  the lanes, in the DAG's device order
 * @param policy   the policy that ordered the tasks
 * @param device   per task, the lane it ran on
 * @param cpuNanos per task, CPU time of its worker thread while it ran
 */
public record RunTrace(TaskGraph graph, List<Processor> devices, String policy, long startNanos, long endNanos,
                       int[] device, long[] begin, long[] finish, long[] cpuNanos) {

    public RunTrace {
        devices = List.copyOf(devices);
    }

    public double seconds() {
        return (endNanos - startNanos) * 1e-9;
    }

    /** Seconds device {@code d} spent running tasks. */
    public double busySeconds(int d) {
        long busy = 0;
        for (int t = 0; t < device.length; t++) {
            if (device[t] == d) {
                busy += finish[t] - begin[t];
            }
        }
        return busy * 1e-9;
    }

    /** Share of the run's wall time during which {@code d} ran nothing. */
    public double idleFraction(int d) {
        return seconds() > 0 ? 1 - busySeconds(d) / seconds() : 1;
    }

    /** Each device's busy share of the run, by name, for devices that ran something. */
    public Map<String, Double> busyShares() {
        Map<String, Double> out = new LinkedHashMap<>();
        for (int d = 0; d < devices.size(); d++) {
            double busy = busySeconds(d);
            if (busy > 0) {
                out.put(devices.get(d).name(), seconds() > 0 ? busy / seconds() : 0);
            }
        }
        return out;
    }

    /** The lane of the first device of {@code kind}, or -1. */
    public int firstOfKind(DeviceKind kind) {
        for (int d = 0; d < devices.size(); d++) {
            if (devices.get(d).kind() == kind) {
                return d;
            }
        }
        return -1;
    }

    /**
     * CPU time of {@code d}'s worker over its busy wall time: 1 when the worker had a core to itself,
     * lower when other threads took the core from it.
     */
    public double coreShare(int d) {
        long cpu = 0;
        for (int t = 0; t < device.length; t++) {
            if (device[t] == d) {
                cpu += cpuNanos[t];
            }
        }
        double busy = busySeconds(d);
        return busy > 0 ? cpu * 1e-9 / busy : 0;
    }

    /** Measured seconds of each task on the device it ran on, +infinity elsewhere. */
    public CostTable measuredCosts() {
        return table(t -> (finish[t] - begin[t]) * 1e-9);
    }

    /**
     * Each task's worker-thread CPU time as a cost table: what the task would take on a core of its own,
     * free of other processes (for simulating what a policy would achieve on dedicated cores).
     */
    public CostTable cpuTimeCosts() {
        return table(t -> cpuNanos[t] * 1e-9);
    }

    private CostTable table(java.util.function.IntToDoubleFunction seconds) {
        double[][] s = new double[device.length][devices.size()];
        for (int t = 0; t < device.length; t++) {
            Arrays.fill(s[t], Double.POSITIVE_INFINITY);
            s[t][device[t]] = seconds.applyAsDouble(t);
        }
        return CostTable.of(devices, s);
    }

    /** The run as a schedule in seconds from its start, costed by what each task really took. */
    public Schedule toSchedule() {
        List<ScheduledTask> entries = new ArrayList<>(device.length);
        for (int t = 0; t < device.length; t++) {
            entries.add(new ScheduledTask(graph.task(t), device[t], (begin[t] - startNanos) * 1e-9,
                    (finish[t] - startNanos) * 1e-9));
        }
        return new Schedule(graph, measuredCosts(), policy, entries);
    }
}
