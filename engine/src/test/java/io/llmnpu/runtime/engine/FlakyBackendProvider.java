package io.llmnpu.runtime.engine;

import io.llmnpu.api.backend.Affinity;
import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.api.backend.Capability;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.backend.cpu.CpuBackendProvider;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A test backend: the CPU backend's kernels under another name and device kind, so that it ranks
 * ahead of the CPU and computes exactly what the CPU computes, and whose device fails on purpose once
 * it has run a given number of graphs.
 */
final class FlakyBackendProvider implements BackendProvider {
    /** Never fails. */
    static final int RELIABLE = Integer.MAX_VALUE;

    private final String name;
    private final DeviceKind kind;
    private final int goodExecutions;
    private final boolean failCompile;
    /** Graph executions attempted on this provider's devices, failed ones included. */
    final AtomicInteger executions = new AtomicInteger();
    final AtomicInteger backendsCreated = new AtomicInteger();
    final AtomicInteger backendsClosed = new AtomicInteger();
    private volatile Class<? extends Op> refused;
    private volatile Class<? extends Op> emulated;
    private volatile double emulationFactor = 10;
    private volatile double costFactor = 1;

    /**
     * @param goodExecutions executions that succeed; every later one throws a {@link BackendException}
     * @param failCompile    whether compiling fails instead
     */
    FlakyBackendProvider(String name, DeviceKind kind, int goodExecutions, boolean failCompile) {
        this.name = name;
        this.kind = kind;
        this.goodExecutions = goodExecutions;
        this.failCompile = failCompile;
    }

    static FlakyBackendProvider failingAfter(int goodExecutions) {
        return new FlakyBackendProvider("flaky", DeviceKind.GPU, goodExecutions, false);
    }

    /** Makes the device report {@code opKind} as unsupported. */
    FlakyBackendProvider refusing(Class<? extends Op> opKind) {
        this.refused = opKind;
        return this;
    }

    /** Makes the device report {@code opKind} as emulated, ten times slower. */
    FlakyBackendProvider emulating(Class<? extends Op> opKind) {
        return emulating(opKind, 10);
    }

    /** Makes the device report {@code opKind} as emulated, {@code factor} times slower. */
    FlakyBackendProvider emulating(Class<? extends Op> opKind, double factor) {
        this.emulated = opKind;
        this.emulationFactor = factor;
        return this;
    }

    /** Scales every estimate the device gives. */
    FlakyBackendProvider costing(double factor) {
        this.costFactor = factor;
        return this;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Backend create(BackendOptions options) {
        backendsCreated.incrementAndGet();
        return new FlakyBackend(new CpuBackendProvider().create(options));
    }

    private final class FlakyBackend implements Backend {
        private final Backend cpu;
        private final Device device;
        private boolean closed;

        FlakyBackend(Backend cpu) {
            this.cpu = cpu;
            this.device = new FlakyDevice(cpu.devices().getFirst());
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public List<Device> devices() {
            return List.of(device);
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                backendsClosed.incrementAndGet();
                cpu.close();
            }
        }
    }

    private final class FlakyDevice implements Device {
        private final Device cpu;

        FlakyDevice(Device cpu) {
            this.cpu = cpu;
        }

        @Override
        public String name() {
            return name + "0";
        }

        @Override
        public DeviceKind kind() {
            return kind;
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
            if (refused != null && refused.isInstance(op)) {
                return Affinity.unsupported();
            }
            double seconds = cpu.affinity(op).estimatedSeconds() * costFactor;
            if (emulated != null && emulated.isInstance(op)) {
                return new Affinity(Affinity.Support.EMULATED, emulationFactor * seconds);
            }
            return new Affinity(Affinity.Support.NATIVE, seconds);
        }

        @Override
        public CompiledGraph compile(Subgraph graph) {
            if (failCompile) {
                throw new BackendException(name + " cannot compile " + graph.name() + ": driver gone");
            }
            CompiledGraph inner = cpu.compile(graph);
            return new CompiledGraph() {
                @Override
                public Subgraph graph() {
                    return inner.graph();
                }

                @Override
                public void execute(Map<Value, Tensor> bindings) {
                    if (executions.incrementAndGet() > goodExecutions) {
                        throw new BackendException(name + " device lost after " + goodExecutions + " executions");
                    }
                    inner.execute(bindings);
                }

                @Override
                public void close() {
                    inner.close();
                }
            };
        }
    }
}
