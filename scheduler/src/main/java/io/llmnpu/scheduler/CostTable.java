package io.llmnpu.scheduler;

import java.util.Arrays;
import java.util.List;

/**
 * Seconds each task takes on each device; {@link Double#POSITIVE_INFINITY} where the task may not
 * run there (unsupported, or excluded by placement). Every task may run on at least one device.
 */
public final class CostTable {
    private final List<Processor> devices;
    private final double[][] seconds;   // [task][device]
    private final double[] minSeconds;
    private final int[] bestDevice;

    private CostTable(List<Processor> devices, double[][] seconds) {
        this.devices = List.copyOf(devices);
        this.seconds = seconds;
        int n = seconds.length;
        this.minSeconds = new double[n];
        this.bestDevice = new int[n];
        for (int t = 0; t < n; t++) {
            if (seconds[t].length != devices.size()) {
                throw new IllegalArgumentException("task " + t + " has " + seconds[t].length + " costs for "
                        + devices.size() + " devices");
            }
            double min = Double.POSITIVE_INFINITY;
            int best = -1;
            for (int d = 0; d < devices.size(); d++) {
                double s = seconds[t][d];
                if (!(s >= 0)) {
                    throw new IllegalArgumentException("task " + t + " on " + devices.get(d).name()
                            + ": cost must be >= 0 or +infinity, got " + s);
                }
                if (s < min) {
                    min = s;
                    best = d;
                }
            }
            if (best < 0) {
                throw new IllegalArgumentException("task " + t + " cannot run on any device of "
                        + devices.stream().map(Processor::name).toList());
            }
            minSeconds[t] = min;
            bestDevice[t] = best;
        }
    }

    /**
     * A table from explicit costs, {@code seconds[task][device]}; the array is copied.
     *
     * @throws IllegalArgumentException if a cost is negative or NaN, or a task fits no device
     */
    public static CostTable of(List<Processor> devices, double[][] seconds) {
        double[][] copy = new double[seconds.length][];
        for (int t = 0; t < seconds.length; t++) {
            copy[t] = seconds[t].clone();
        }
        return new CostTable(devices, copy);
    }

    public int taskCount() {
        return seconds.length;
    }

    public int deviceCount() {
        return devices.size();
    }

    public List<Processor> devices() {
        return devices;
    }

    public Processor device(int d) {
        return devices.get(d);
    }

    public double seconds(int task, int device) {
        return seconds[task][device];
    }

    public boolean allowed(int task, int device) {
        return seconds[task][device] != Double.POSITIVE_INFINITY;
    }

    /** Time on the task's fastest allowed device. */
    public double minSeconds(int task) {
        return minSeconds[task];
    }

    /** The task's fastest allowed device (the first one on a tie). */
    public int bestDevice(int task) {
        return bestDevice[task];
    }

    /** A copy that forbids every (task, device) pair {@code keep} rejects; each task must keep a device. */
    public CostTable restrict(Restriction keep) {
        double[][] copy = new double[seconds.length][];
        for (int t = 0; t < seconds.length; t++) {
            copy[t] = seconds[t].clone();
            for (int d = 0; d < devices.size(); d++) {
                if (!keep.allows(t, d)) {
                    copy[t][d] = Double.POSITIVE_INFINITY;
                }
            }
        }
        return new CostTable(devices, copy);
    }

    /** Decides whether a task may run on a device. */
    @FunctionalInterface
    public interface Restriction {
        boolean allows(int task, int device);
    }

    @Override
    public String toString() {
        return "CostTable[" + seconds.length + " tasks x " + devices.stream().map(Processor::name).toList()
                + ", first row " + (seconds.length == 0 ? "-" : Arrays.toString(seconds[0])) + "]";
    }
}
