package io.llmnpu.scheduler;

import io.llmnpu.api.backend.DeviceKind;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Random task graphs and cost tables for property tests of policies, the simulator and bounds.
 * Everything is drawn from the caller's {@link Random}, so a seed reproduces a case.
 */
final class RandomTaskGraphs {
    private static final TaskKind[] KINDS = TaskKind.values();
    private static final DeviceKind[] DEVICE_KINDS = DeviceKind.values();

    private RandomTaskGraphs() {
    }

    /**
     * A DAG of {@code tasks} tasks where each earlier task is a dependency of a later one with
     * probability {@code edgeProbability}; kinds, chunks and layers are random labels.
     */
    public static TaskGraph graph(Random random, int tasks, double edgeProbability) {
        TaskGraph.Builder b = TaskGraph.builder();
        for (int t = 0; t < tasks; t++) {
            int id = b.add(random.nextInt(4), random.nextInt(8), KINDS[random.nextInt(KINDS.length)]);
            for (int earlier = 0; earlier < id; earlier++) {
                if (random.nextDouble() < edgeProbability) {
                    b.dependency(earlier, id);
                }
            }
        }
        return b.build();
    }

    /** {@code count} devices of random kinds with plausible, random figures. */
    public static List<DeviceProfile> devices(Random random, int count) {
        List<DeviceProfile> devices = new ArrayList<>();
        for (int d = 0; d < count; d++) {
            DeviceKind kind = DEVICE_KINDS[random.nextInt(DEVICE_KINDS.length)];
            boolean int8 = random.nextDouble() < 0.8;
            double int8Ops = int8 ? (0.05 + random.nextDouble() * 3) * 1e12 : 0;
            double floatOps = !int8 || random.nextDouble() < 0.7 ? (0.01 + random.nextDouble()) * 1e12 : 0;
            devices.add(new DeviceProfile(kind.name().toLowerCase(Locale.ROOT) + d, kind, int8Ops, floatOps,
                    (5 + random.nextDouble() * 100) * 1e9, random.nextDouble() * 1e-4));
        }
        return devices;
    }

    /**
     * Independent random costs (up to 10 ms, a few zero) for every task on every device, with about
     * {@code unsupportedShare} of the pairs forbidden; every task keeps at least one device.
     */
    public static CostTable costs(Random random, TaskGraph graph, List<Processor> devices, double unsupportedShare) {
        double[][] seconds = new double[graph.size()][devices.size()];
        for (int t = 0; t < graph.size(); t++) {
            boolean any = false;
            for (int d = 0; d < devices.size(); d++) {
                if (random.nextDouble() < unsupportedShare) {
                    seconds[t][d] = Double.POSITIVE_INFINITY;
                } else {
                    seconds[t][d] = random.nextDouble() < 0.03 ? 0 : random.nextDouble() * 1e-2;
                    any = true;
                }
            }
            if (!any) {
                seconds[t][random.nextInt(devices.size())] = random.nextDouble() * 1e-2;
            }
        }
        return CostTable.of(devices, seconds);
    }
}
