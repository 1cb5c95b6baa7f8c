package io.llmnpu.scheduler;

import io.llmnpu.api.backend.Affinity;
import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.Capability;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import java.util.Set;
import java.util.function.Function;

/** A device whose affinities a test decides op by op. It runs nothing. */
record FakeDevice(String name, DeviceKind kind, Function<Op, Affinity> affinities) implements Device {

    /** Supports every op but QuantizedLinear, at {@code secondsPerOp} each. */
    static FakeDevice floats(String name, DeviceKind kind, double secondsPerOp) {
        return new FakeDevice(name, kind, op -> op instanceof Op.QuantizedLinear ? Affinity.unsupported()
                : new Affinity(Affinity.Support.NATIVE, secondsPerOp));
    }

    /** Supports only QuantizedLinear, at {@code secondsPerOp} each. */
    static FakeDevice int8Only(String name, double secondsPerOp) {
        return new FakeDevice(name, DeviceKind.NPU, op -> op instanceof Op.QuantizedLinear
                ? new Affinity(Affinity.Support.NATIVE, secondsPerOp) : Affinity.unsupported());
    }

    @Override
    public Set<Capability> capabilities() {
        return Set.of();
    }

    @Override
    public long memoryBytes() {
        return 1L << 30;
    }

    @Override
    public Affinity affinity(Op op) {
        return affinities.apply(op);
    }

    @Override
    public CompiledGraph compile(Subgraph graph) {
        throw new BackendException("fake");
    }
}
