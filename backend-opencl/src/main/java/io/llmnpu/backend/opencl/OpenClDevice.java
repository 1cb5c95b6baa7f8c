package io.llmnpu.backend.opencl;

import static org.jocl.CL.*;

import io.llmnpu.api.backend.Affinity;
import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.Capability;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.api.backend.StateResidency;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.tensor.Tensor;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_context_properties;
import org.jocl.cl_device_id;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One OpenCL device with its own context and in-order command queue. The kernels are built into one
 * program on first compile (from the on-disk binary cache when possible). Weights and KV caches live
 * in device-wide stores shared by all graphs compiled here. All device work is serialised by one
 * lock: the queue is in order anyway, and the shared stores need it.
 */
public final class OpenClDevice implements Device {
    private static final Logger LOG = LoggerFactory.getLogger(OpenClDevice.class);

    private final String name;
    private final ClDeviceHandle handle;
    private final OpenClOptions options;
    private final CostModel costs;
    private final cl_context context;
    private final cl_command_queue queue;
    private final WeightStore weights;
    private final ResidentStateStore states;
    private final ReentrantLock lock = new ReentrantLock();
    private final Set<OpenClCompiledGraph> graphs = new LinkedHashSet<>();
    private ClProgram program;
    private boolean closed;

    OpenClDevice(String name, ClDeviceHandle handle, OpenClOptions options) {
        this.name = name;
        this.handle = handle;
        this.options = options;
        this.costs = CostModel.of(handle.info());
        cl_context_properties properties = new cl_context_properties();
        properties.addProperty(CL_CONTEXT_PLATFORM, handle.platform());
        int[] status = new int[1];
        this.context = clCreateContext(properties, 1, new cl_device_id[] {handle.device()}, null, null, status);
        ClCall.check(status[0], "clCreateContext for " + handle.info().deviceName());
        @SuppressWarnings("deprecation") // clCreateCommandQueueWithProperties needs OpenCL 2.0; PoCL and old drivers vary
        cl_command_queue q = clCreateCommandQueue(context, handle.device(), 0, status);
        if (status[0] != CL_SUCCESS) {
            clReleaseContext(context);
            throw ClCall.failure(status[0], "clCreateCommandQueue for " + handle.info().deviceName());
        }
        this.queue = q;
        this.weights = new WeightStore(context, queue, handle.info().maxAllocBytes());
        this.states = new ResidentStateStore(context, queue);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public DeviceKind kind() {
        // Accelerators that are neither GPU nor CPU run the same kernels; GPU is the closest class.
        return handle.info().isCpu() ? DeviceKind.CPU : DeviceKind.GPU;
    }

    @Override
    public Set<Capability> capabilities() {
        // A GPU works beside the host and other devices; an OpenCL CPU device competes for the same cores.
        return handle.info().isCpu() ? Set.of() : EnumSet.of(Capability.ASYNC);
    }

    @Override
    public long memoryBytes() {
        return handle.info().globalMemBytes();
    }

    /** What the driver reports about this device. */
    public ClDeviceInfo info() {
        return handle.info();
    }

    public OpenClOptions options() {
        return options;
    }

    @Override
    public Affinity affinity(Op op) {
        if (OpChecks.problem(op, handle.info()).isPresent()) {
            return Affinity.unsupported();
        }
        return new Affinity(Affinity.Support.NATIVE, costs.seconds(op));
    }

    @Override
    public CompiledGraph compile(Subgraph graph) {
        return exclusive(() -> {
            ensureOpen();
            GraphCompiler compiler = new GraphCompiler(handle.info(), context, queue, program().program(), gemmTile(),
                    weights);
            OpenClCompiledGraph compiled = new OpenClCompiledGraph(this, graph, compiler.compile(graph));
            graphs.add(compiled);
            LOG.debug("compiled {} on {}: {} ops, {} bytes of scratch", graph.name(), name, graph.ops().size(),
                    compiled.scratchBytes());
            return compiled;
        });
    }

    /**
     * KV caches stay on the device between executions unless {@code -Dllmnpu.opencl.stateResidency=upload}
     * asks for a re-upload before every run; rows an execution writes are written back to the host.
     */
    @Override
    public StateResidency stateResidency() {
        return options.stateResidency() == OpenClOptions.StateResidency.KEEP_RESIDENT
                ? StateResidency.DEVICE : StateResidency.HOST;
    }

    /** Drops the device copy of a KV cache tensor, so its next binding uploads the host tensor again. */
    @Override
    public void stateChanged(Tensor state) {
        forgetResidentState(state);
    }

    /**
     * Drops the device copy of a KV cache tensor, so its next binding uploads the host tensor again.
     *
     * @return whether the device held a copy
     */
    public boolean forgetResidentState(Tensor state) {
        return exclusive(() -> states.forget(state));
    }

    /** A handle for running the sparse outlier product with {@code weight} on this device. */
    public SparseOutlierGemm sparseOutlierGemm(Tensor weight) {
        return exclusive(() -> {
            ensureOpen();
            return new SparseOutlierGemm(this, weight);
        });
    }

    /** Where the kernels came from (builds them first if no graph has been compiled yet). */
    ClProgram.Origin programOrigin() {
        return exclusive(() -> program().origin());
    }

    int residentStates() {
        return exclusive(states::size);
    }

    long stateUploadBytes() {
        return exclusive(states::uploadedBytes);
    }

    int residentWeights() {
        return exclusive(weights::size);
    }

    long weightUploadBytes() {
        return exclusive(weights::uploadedBytes);
    }

    cl_context context() {
        return context;
    }

    cl_command_queue queue() {
        return queue;
    }

    WeightStore weights() {
        return weights;
    }

    ResidentStateStore states() {
        return states;
    }

    ClProgram program() {
        if (program == null) {
            String buildOptions = "-DTS=" + gemmTile();
            ProgramBinaryCache cache = options.binaryCacheDir() == null ? null
                    : new ProgramBinaryCache(options.binaryCacheDir(), handle.info());
            program = ClProgram.build(context, handle.device(), KernelSources.program(), buildOptions, cache);
            LOG.info("OpenCL kernels for {} ready in {} s ({})", name, String.format("%.2f", program.buildSeconds()),
                    program.origin() == ClProgram.Origin.BINARY_CACHE ? "cached binary" : "compiled from source");
        }
        return program;
    }

    /** GEMM tile edge: 16x16 work-groups where the device allows 256 items, else 8x8. */
    int gemmTile() {
        return handle.info().maxWorkGroupSize() >= 256 ? 16 : 8;
    }

    void exclusive(Runnable work) {
        exclusive(() -> {
            work.run();
            return null;
        });
    }

    <T> T exclusive(Supplier<T> work) {
        lock.lock();
        try {
            return work.get();
        } catch (BackendException e) {
            throw e;
        } catch (RuntimeException e) {
            // JOCL throws CLException when its process-wide exception mode is on.
            throw new BackendException("OpenCL device " + name + " failed: " + e.getMessage(), e);
        } finally {
            lock.unlock();
        }
    }

    void forgetGraph(OpenClCompiledGraph graph) {
        graphs.remove(graph);
    }

    private void ensureOpen() {
        if (closed) {
            throw new BackendException("OpenCL device " + name + " is closed");
        }
    }

    /** Releases every graph, buffer, program, queue and the context. */
    void close() {
        exclusive(() -> {
            if (closed) {
                return;
            }
            closed = true;
            new ArrayList<>(graphs).forEach(OpenClCompiledGraph::releaseOnDeviceClose);
            graphs.clear();
            weights.clear();
            states.clear();
            if (program != null) {
                program.release();
            }
            clReleaseCommandQueue(queue);
            clReleaseContext(context);
        });
    }

    @Override
    public String toString() {
        return name + ": " + handle.info();
    }
}
