package io.llmnpu.it.twin;

import io.llmnpu.api.backend.Affinity;
import io.llmnpu.api.backend.Capability;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import java.util.Set;

/** A CPU device that calls itself a GPU: computes exactly what the CPU computes, but ranks before it. */
final class TwinDevice implements Device {
    private final Device cpu;

    TwinDevice(Device cpu) {
        this.cpu = cpu;
    }

    @Override
    public String name() {
        return "twin0";
    }

    @Override
    public DeviceKind kind() {
        return DeviceKind.GPU;
    }

    @Override
    public Set<Capability> capabilities() {
        return cpu.capabilities();
    }

    @Override
    public long memoryBytes() {
        return cpu.memoryBytes();
    }

    @Override
    public Affinity affinity(Op op) {
        return cpu.affinity(op);
    }

    @Override
    public CompiledGraph compile(Subgraph graph) {
        return cpu.compile(graph);
    }
}
