package io.llmnpu.scheduler;

import java.util.List;

/**
 * Roofline estimates: a task takes {@code max(operations / throughput, bytes / bandwidth) +
 * overhead} on a device, or cannot run there if the device lacks its arithmetic (float work on an
 * INT8-only NPU, INT8 matmuls on a device without an INT8 path).
 */
public final class CostEstimator {

    /** Seconds for one workload on one device; {@link Double#POSITIVE_INFINITY} if unsupported. */
    public double seconds(Workload work, Arithmetic arithmetic, DeviceProfile device) {
        double throughput = device.opsPerSecond(arithmetic);
        if (throughput <= 0) {
            return Double.POSITIVE_INFINITY;
        }
        double compute = work.operations() / throughput;
        double memory = work.bytes() / device.memoryBytesPerSecond();
        return Math.max(compute, memory) + device.taskOverheadSeconds();
    }

    /**
     * Costs of every task of {@code graph} on every device of {@code platform} that supports it.
     *
     * @throws IllegalArgumentException if some task is supported by no device
     */
    public CostTable estimate(TaskGraph graph, PlatformProfile platform) {
        List<DeviceProfile> devices = platform.devices();
        double[][] seconds = new double[graph.size()][devices.size()];
        for (int t = 0; t < graph.size(); t++) {
            Arithmetic arithmetic = graph.task(t).kind().arithmetic();
            for (int d = 0; d < devices.size(); d++) {
                seconds[t][d] = seconds(graph.workload(t), arithmetic, devices.get(d));
            }
        }
        return CostTable.of(devices, seconds);
    }
}
