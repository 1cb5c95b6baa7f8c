package io.llmnpu.runtime.engine;

import io.llmnpu.api.backend.Affinity;
import io.llmnpu.api.backend.Capability;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.api.backend.StateResidency;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import java.util.Set;
import java.util.function.Function;

/**
 * A device as the placer sees it: the device itself in every respect but its affinities, which the
 * engine adjusts (an op refused, an estimate raised) to steer placement. Never compiled or run through:
 * the engine compiles and runs on the device a candidate number stands for.
 */
record PlacementView(Device device, Function<Op, Affinity> affinity) implements Device {

    @Override
    public String name() {
        return device.name();
    }

    @Override
    public DeviceKind kind() {
        return device.kind();
    }

    @Override
    public Set<Capability> capabilities() {
        return device.capabilities();
    }

    @Override
    public long memoryBytes() {
        return device.memoryBytes();
    }

    @Override
    public Affinity affinity(Op op) {
        return affinity.apply(op);
    }

    @Override
    public CompiledGraph compile(Subgraph graph) {
        return device.compile(graph);
    }

    @Override
    public StateResidency stateResidency() {
        return device.stateResidency();
    }
}
