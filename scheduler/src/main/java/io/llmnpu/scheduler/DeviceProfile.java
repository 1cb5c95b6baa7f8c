package io.llmnpu.scheduler;

import io.llmnpu.api.backend.DeviceKind;

/**
 * Speed figures of one processor, enough for a roofline estimate of each task. A throughput of 0
 * means the device cannot do that arithmetic at all (an INT8-only NPU has no float path).
 *
 * @param name                 unique within its platform (e.g. {@code npu}, {@code cpu})
 * @param kind                 NPU, GPU or CPU
 * @param int8OpsPerSecond     sustained INT8 matmul throughput, operations per second (multiply-add = 2)
 * @param floatOpsPerSecond    sustained float matmul throughput in the device's best float format
 * @param memoryBytesPerSecond sustained memory bandwidth seen by the device
 * @param taskOverheadSeconds  fixed cost of launching one task (graph execute, kernel launch, hand-off)
 */
public record DeviceProfile(String name, DeviceKind kind, double int8OpsPerSecond, double floatOpsPerSecond,
                            double memoryBytesPerSecond, double taskOverheadSeconds) {

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
}
