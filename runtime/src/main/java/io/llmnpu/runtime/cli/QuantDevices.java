package io.llmnpu.runtime.cli;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.runtime.engine.BackendRegistry;

/**
 * The float device and, when asked for, the NPU device that calibration and evaluation run on, found
 * among the backends on the class path by name. Closing stops both backends.
 */
final class QuantDevices implements AutoCloseable {

    private final Backend cpuBackend;
    private final Backend npuBackend;
    private final Device cpu;
    private final Device npu;

    private QuantDevices(Backend cpuBackend, Backend npuBackend) {
        this.cpuBackend = cpuBackend;
        this.npuBackend = npuBackend;
        this.cpu = cpuBackend.devices().getFirst();
        // The backend's NPU, or else its first device: a CPU backend with int8 matrix products (cpu-native)
        // runs the INT8 layers on the CPU's dot-product units; one without them refuses at compile time.
        this.npu = npuBackend == null ? null : npuBackend.devices().stream().filter(d -> d.kind() == DeviceKind.NPU)
                .findFirst().orElseGet(() -> npuBackend.devices().stream().findFirst().orElseThrow(
                        () -> new IllegalStateException("backend " + npuBackend.name() + " has no device")));
    }

    /**
     * @param cpuName     float backend (null: the default, preferring cpu)
     * @param npuName     NPU backend, or null for none
     * @param threads     threads of the float backend (0: one per core)
     * @param npuThreads  cores of the NPU backend (0: its default)
     */
    static QuantDevices open(String cpuName, String npuName, int threads, int npuThreads) {
        BackendRegistry registry = BackendRegistry.discover(QuantDevices.class.getClassLoader());
        Backend cpu = registry.select(cpuName).create(new BackendOptions(threads));
        Backend npu = null;
        try {
            if (npuName != null) {
                npu = registry.select(npuName).create(new BackendOptions(npuThreads));
            }
            return new QuantDevices(cpu, npu);
        } catch (RuntimeException e) {
            if (npu != null) {
                npu.close();
            }
            cpu.close();
            throw e;
        }
    }

    Device cpu() {
        return cpu;
    }

    Device npu() {
        return npu;
    }

    String describe() {
        return cpuBackend.name() + "/" + cpu.name() + (npu == null ? "" : " + " + npuBackend.name() + "/" + npu.name());
    }

    @Override
    public void close() {
        if (npuBackend != null) {
            npuBackend.close();
        }
        cpuBackend.close();
    }
}
