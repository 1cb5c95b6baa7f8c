package io.llmnpu.scheduler;

import io.llmnpu.api.backend.DeviceKind;

/**
 * Speed and power figures of one processor, enough for a roofline estimate of each op and for the
 * energy a request takes. A throughput of 0 means the device cannot do that arithmetic at all (an
 * INT8-only NPU has no float path). {@link SimulatedDevice} turns a profile into a {@code Device}.
 *
 * @param name                 unique within its platform (e.g. {@code npu}, {@code cpu})
 * @param kind                 NPU, GPU or CPU
 * @param int8OpsPerSecond     sustained INT8 matmul throughput, operations per second (multiply-add = 2)
 * @param floatOpsPerSecond    sustained float matmul throughput in the device's best float format
 * @param memoryBytesPerSecond sustained memory bandwidth seen by the device
 * @param taskOverheadSeconds  fixed cost of launching one task (graph execute, kernel launch, hand-off)
 * @param activeWatts          power drawn while running a task; NaN when unknown
 * @param idleWatts            power drawn while idle (powered, not running); NaN when unknown
 */
public record DeviceProfile(String name, DeviceKind kind, double int8OpsPerSecond, double floatOpsPerSecond,
                            double memoryBytesPerSecond, double taskOverheadSeconds, double activeWatts,
                            double idleWatts) {

    public DeviceProfile {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("a device profile needs a name");
        }
        if (kind == null) {
            throw new IllegalArgumentException("device " + name + " needs a kind (NPU, GPU or CPU)");
        }
        finiteNonNegative(name, "INT8 throughput", int8OpsPerSecond);
        finiteNonNegative(name, "float throughput", floatOpsPerSecond);
        finiteNonNegative(name, "task overhead", taskOverheadSeconds);
        if (!(memoryBytesPerSecond > 0) || Double.isInfinite(memoryBytesPerSecond)) {
            throw new IllegalArgumentException("device " + name + " needs a positive, finite memory bandwidth, got "
                    + memoryBytesPerSecond);
        }
        if (int8OpsPerSecond == 0 && floatOpsPerSecond == 0) {
            throw new IllegalArgumentException("device " + name + " can run neither INT8 nor float work");
        }
        if (!Double.isNaN(activeWatts)) {
            finiteNonNegative(name, "active power", activeWatts);
        }
        if (!Double.isNaN(idleWatts)) {
            finiteNonNegative(name, "idle power", idleWatts);
        }
    }

    /** A profile without power figures. */
    public DeviceProfile(String name, DeviceKind kind, double int8OpsPerSecond, double floatOpsPerSecond,
                         double memoryBytesPerSecond, double taskOverheadSeconds) {
        this(name, kind, int8OpsPerSecond, floatOpsPerSecond, memoryBytesPerSecond, taskOverheadSeconds,
                Double.NaN, Double.NaN);
    }

    private static void finiteNonNegative(String device, String what, double value) {
        if (!(value >= 0) || Double.isInfinite(value)) {
            throw new IllegalArgumentException("device " + device + ": " + what
                    + " must be finite and not negative, got " + value);
        }
    }

    /** Throughput for {@code arithmetic}, 0 when the device cannot do it. */
    public double opsPerSecond(Arithmetic arithmetic) {
        return switch (arithmetic) {
            case INT8_MATMUL -> int8OpsPerSecond;
            case FLOAT -> floatOpsPerSecond;
        };
    }

    public boolean supports(Arithmetic arithmetic) {
        return opsPerSecond(arithmetic) > 0;
    }

    /** Whether both power figures are known. */
    public boolean hasPower() {
        return !Double.isNaN(activeWatts) && !Double.isNaN(idleWatts);
    }

    /** The lane this device is in a schedule. */
    public Processor processor() {
        return new Processor(name, kind);
    }
}
