package io.llmnpu.tck.selftest;

import io.llmnpu.api.backend.Affinity;
import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.Capability;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Tensor;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/** The one device of {@link ReferenceTestBackend}: every op, with weights of every float and block type. */
final class ScalarDevice implements Device {
    private static final Set<DType> WEIGHT_TYPES = EnumSet.of(DType.F32, DType.F16, DType.BF16, DType.Q8_0, DType.Q4_0,
            DType.Q4_1, DType.Q5_0, DType.Q5_1, DType.IQ4_NL, DType.Q2_K, DType.Q3_K, DType.Q4_K, DType.Q5_K, DType.Q6_K);

    private final ReferenceTestBackend backend;
    private final String name;
    /** Used only with {@link Defect#SHARED_ACCUMULATOR}: the bug is that graphs share it. */
    private final float[] sharedAccumulator = new float[1 << 16];
    private final AtomicInteger executing = new AtomicInteger();

    ScalarDevice(ReferenceTestBackend backend, String name) {
        this.backend = backend;
        this.name = name;
    }

    ReferenceTestBackend backend() {
        return backend;
    }

    float[] sharedAccumulator() {
        return sharedAccumulator;
    }

    AtomicInteger executing() {
        return executing;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public DeviceKind kind() {
        return DeviceKind.CPU;
    }

    @Override
    public Set<Capability> capabilities() {
        return EnumSet.of(Capability.STATIC_SHAPES_ONLY, Capability.HOST_VISIBLE_MEMORY);
    }

    @Override
    public long memoryBytes() {
        return Runtime.getRuntime().maxMemory();
    }

    @Override
    public Affinity affinity(Op op) {
        Tensor weight = switch (op) {
            case Op.Embedding e -> e.table();
            case Op.RmsNorm r -> r.weight();
            case Op.Linear l -> l.weight();
            case Op.OutlierShadow o -> o.weight();
            case Op.ShadowMerge m -> m.weight();
            default -> null;
        };
        if (weight != null && !WEIGHT_TYPES.contains(weight.dtype())) {
            return Affinity.unsupported();
        }
        long work = op.outputs().getFirst().shape().elements() * (weight == null ? 4 : weight.shape().cols());
        return new Affinity(Affinity.Support.NATIVE, work * 1e-9);
    }

    @Override
    public CompiledGraph compile(Subgraph graph) {
        backend.requireOpen("compile " + graph.name());
        for (Op op : graph.ops()) {
            if (!affinity(op).isSupported()) {
                String message = name + " cannot run " + op.getClass().getSimpleName() + " of graph " + graph.name()
                        + ": weights of that type are not supported";
                if (backend.has(Defect.UNSUPPORTED_THROWS_ILLEGAL_ARGUMENT)) {
                    throw new IllegalArgumentException(message);
                }
                throw new BackendException(message);
            }
        }
        return new ScalarCompiledGraph(this, graph);
    }
}
