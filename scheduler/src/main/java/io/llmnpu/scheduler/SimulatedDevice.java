package io.llmnpu.scheduler;

import io.llmnpu.api.backend.Affinity;
import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.Capability;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import java.util.EnumSet;
import java.util.Set;

/**
 * A device that exists only as a {@link DeviceProfile}: it answers {@link #affinity} with a roofline
 * estimate, {@code max(operations / throughput, bytes / bandwidth)} in the op's arithmetic, and refuses
 * ops whose arithmetic it lacks. It cannot compile anything. The placer and the simulator treat it as
 * they treat a real device, so a plan on a phone profile and a real run share one DAG model and one
 * cost source.
 */
public final class SimulatedDevice implements Device {
    private final DeviceProfile profile;

    public SimulatedDevice(DeviceProfile profile) {
        this.profile = profile;
    }

    public DeviceProfile profile() {
        return profile;
    }

    @Override
    public String name() {
        return profile.name();
    }

    @Override
    public DeviceKind kind() {
        return profile.kind();
    }

    @Override
    public Set<Capability> capabilities() {
        Set<Capability> caps = EnumSet.of(Capability.HOST_VISIBLE_MEMORY);
        if (!profile.supports(Arithmetic.FLOAT)) {
            caps.add(Capability.INT8_ONLY);
        }
        if (profile.kind() == DeviceKind.NPU) {
            caps.add(Capability.STATIC_SHAPES_ONLY);
        }
        return caps;
    }

    @Override
    public long memoryBytes() {
        return Long.MAX_VALUE;
    }

    @Override
    public Affinity affinity(Op op) {
        OpWork work = OpWork.of(op);
        double throughput = profile.opsPerSecond(work.arithmetic());
        if (throughput <= 0) {
            return Affinity.unsupported();
        }
        return new Affinity(Affinity.Support.NATIVE,
                Math.max(work.operations() / throughput, work.bytes() / profile.memoryBytesPerSecond()));
    }

    @Override
    public CompiledGraph compile(Subgraph graph) {
        throw new BackendException("device " + profile.name() + " is simulated from a profile and runs nothing");
    }

    @Override
    public String toString() {
        return profile.name() + " (simulated " + profile.kind() + ")";
    }
}
