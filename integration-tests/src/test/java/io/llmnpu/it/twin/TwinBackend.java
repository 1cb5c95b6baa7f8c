package io.llmnpu.it.twin;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.Device;
import java.util.List;

/** Wraps a CPU backend: one device, {@code twin0}. */
final class TwinBackend implements Backend {
    private final Backend cpu;
    private final Device device;

    TwinBackend(Backend cpu) {
        this.cpu = cpu;
        this.device = new TwinDevice(cpu.devices().getFirst());
    }

    @Override
    public String name() {
        return "twin";
    }

    @Override
    public List<Device> devices() {
        return List.of(device);
    }

    @Override
    public void close() {
        cpu.close();
    }
}
