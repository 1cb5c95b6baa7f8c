package io.llmnpu.backend.npu.reference;

import io.llmnpu.api.backend.Affinity;
import io.llmnpu.api.backend.Capability;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.backend.support.GraphLifecycle;
import java.util.Set;

/**
 * The reference NPU device, {@code npu0}: INT8 linear layers only, graphs compiled per static shape.
 * Its memory is host memory that the simulated NPU addresses directly (as on phones).
 */
public final class ReferenceNpuDevice implements Device {

    private final ReferenceNpuBackend backend;
    private final NpuCostModel cost;

    ReferenceNpuDevice(ReferenceNpuBackend backend, int cores) {
        this.backend = backend;
        this.cost = new NpuCostModel(cores);
    }

    @Override
    public String name() {
        return "npu0";
    }

    @Override
    public DeviceKind kind() {
        return DeviceKind.NPU;
    }

    @Override
    public Set<Capability> capabilities() {
        return Set.of(Capability.STATIC_SHAPES_ONLY, Capability.INT8_ONLY, Capability.HOST_VISIBLE_MEMORY);
    }

    @Override
    public long memoryBytes() {
        return Runtime.getRuntime().maxMemory();
    }

    @Override
    public Affinity affinity(Op op) {
        if (!NpuOpRules.problem(op).isEmpty()) {
            return Affinity.unsupported();
        }
        return new Affinity(Affinity.Support.NATIVE, cost.seconds((Op.QuantizedLinear) op));
    }

    @Override
    public CompiledGraph compile(Subgraph graph) {
        GraphLifecycle.requireCompilable(graph, "npu-ref", backend.isClosed());
        NpuCompiledGraph compiled = NpuCompiledGraph.compile(graph, backend);
        backend.remember(compiled);
        return compiled;
    }

    @Override
    public String toString() {
        return "npu0 (reference INT8 NPU, " + backend.cores().cores() + " cores)";
    }
}
