package io.llmnpu.runtime.prefill;

import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.scheduler.CostTable;
import io.llmnpu.scheduler.DeviceProfile;
import io.llmnpu.scheduler.Schedule;
import io.llmnpu.scheduler.ScheduledTask;
import io.llmnpu.scheduler.TaskGraph;
import java.util.ArrayList;
import java.util.List;

/**
 * What one real prefill run did: when each task ran and on which device, in {@link System#nanoTime}
 * units. Convertible to a scheduler {@link Schedule} (with the measured durations as its cost table)
 * so that the scheduler's validator and Gantt chart apply to real runs.
 *
 * @param device   per task, {@link ChunkedPrefill#NPU} or {@link ChunkedPrefill#CPU}
 * @param cpuNanos per task, CPU time of its worker thread while it ran
 */
public record PrefillTrace(TaskGraph graph, String policy, long startNanos, long endNanos, int[] device,
                           long[] begin, long[] finish, long[] cpuNanos) {

    /** Names and kinds of the two devices, in device-index order. */
    public static final List<DeviceProfile> DEVICES = List.of(
            new DeviceProfile("npu", DeviceKind.NPU, 1, 0, 1, 0),
            new DeviceProfile("cpu", DeviceKind.CPU, 0, 1, 1, 0));

    public double seconds() {
        return (endNanos - startNanos) * 1e-9;
    }

    /** Seconds {@code d} spent running tasks. */
    public double busySeconds(int d) {
        long busy = 0;
        for (int t = 0; t < device.length; t++) {
            if (device[t] == d) {
                busy += finish[t] - begin[t];
            }
        }
        return busy * 1e-9;
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
        return cpu * 1e-9 / busySeconds(d);
    }

    /** Share of the run's wall time during which {@code d} ran nothing. */
    public double idleFraction(int d) {
        return 1 - busySeconds(d) / seconds();
    }

    /** Measured seconds of each task on the device it ran on, +infinity elsewhere. */
    public double[][] measuredSeconds() {
        double[][] s = new double[device.length][2];
        for (int t = 0; t < device.length; t++) {
            s[t][0] = Double.POSITIVE_INFINITY;
            s[t][1] = Double.POSITIVE_INFINITY;
            s[t][device[t]] = (finish[t] - begin[t]) * 1e-9;
        }
        return s;
    }

    /**
     * Each task's worker-thread CPU time as a cost table: what the task would take on a core of its
     * own, free of other processes (for simulating what a policy would achieve on dedicated cores).
     */
    public CostTable cpuTimeCosts() {
        double[][] s = new double[device.length][2];
        for (int t = 0; t < device.length; t++) {
            s[t][0] = Double.POSITIVE_INFINITY;
            s[t][1] = Double.POSITIVE_INFINITY;
            s[t][device[t]] = cpuNanos[t] * 1e-9;
        }
        return CostTable.of(DEVICES, s);
    }

    /** The measured seconds as a cost table, for the policies of later runs. */
    public CostTable measuredCosts() {
        return CostTable.of(DEVICES, measuredSeconds());
    }

    /** The run as a schedule in seconds from its start, costed by what each task really took. */
    public Schedule toSchedule() {
        CostTable costs = CostTable.of(DEVICES, measuredSeconds());
        List<ScheduledTask> entries = new ArrayList<>(device.length);
        for (int t = 0; t < device.length; t++) {
            entries.add(new ScheduledTask(graph.task(t), device[t], (begin[t] - startNanos) * 1e-9,
                    (finish[t] - startNanos) * 1e-9));
        }
        return new Schedule(graph, costs, policy, entries);
    }
}
