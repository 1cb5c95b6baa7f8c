package io.llmnpu.backend.cpu;

import io.llmnpu.api.backend.Affinity;
import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.Capability;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.backend.support.GraphLifecycle;
import java.lang.management.ManagementFactory;
import java.util.Locale;
import java.util.Set;

/** The host CPU: runs every op of the vocabulary with Vector API kernels on the backend's threads. */
public final class CpuDevice implements Device {

    private final CpuBackend backend;

    CpuDevice(CpuBackend backend) {
        this.backend = backend;
    }

    @Override
    public String name() {
        return "cpu0";
    }

    @Override
    public DeviceKind kind() {
        return DeviceKind.CPU;
    }

    @Override
    public Set<Capability> capabilities() {
        return Set.of(Capability.HOST_VISIBLE_MEMORY);
    }

    /** The machine's physical memory (tensors live off-heap, so the JVM heap limit does not apply). */
    @Override
    public long memoryBytes() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            long total = os.getTotalMemorySize();
            if (total > 0) {
                return total;
            }
        }
        return Runtime.getRuntime().maxMemory();
    }

    @Override
    public Affinity affinity(Op op) {
        MatrixEngine engine = backend.engine();
        try {
            OpChecker.check(op, engine);
        } catch (BackendException e) {
            return Affinity.unsupported();
        }
        double seconds = engine.accepts(op) ? engine.seconds(op) : backend.costs().seconds(op);
        return new Affinity(Affinity.Support.NATIVE, seconds);
    }

    @Override
    public CompiledGraph compile(Subgraph graph) {
        GraphLifecycle.requireCompilable(graph, "cpu", backend.isClosed());
        CpuCompiledGraph compiled = CpuCompiledGraph.compile(graph, backend);
        backend.remember(compiled);
        return compiled;
    }

    @Override
    public String toString() {
        CostConstants rates = backend.costs().rates();
        String engine = backend.engine() == MatrixEngine.NONE ? "" : "; matrix products: " + backend.engine().description();
        return String.format(Locale.ROOT, "cpu0 (%d threads, %s; costs %.1f GFLOP/s, %.1f GB/s, %s%s)",
                backend.threads(), VectorSpecs.FLOATS, rates.flopsPerSecond() / 1e9, rates.bytesPerSecond() / 1e9,
                rates.source(), engine);
    }
}
