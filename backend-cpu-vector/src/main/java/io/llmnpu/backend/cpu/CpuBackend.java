package io.llmnpu.backend.cpu;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.Device;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Vector API CPU backend: one device, {@code cpu0}, and the worker threads its kernels run on.
 * Closing it stops the threads and frees the memory of every graph compiled on it that is still open.
 *
 * <p>Another module may build it with a {@link MatrixEngine} that takes over matrix products (a native
 * GEMM library), under a name of its own; everything else then still runs on these kernels.
 */
public final class CpuBackend implements Backend {

    private static final Logger LOG = LoggerFactory.getLogger(CpuBackend.class);

    /** How long idle workers spin for the next op before parking: ops of a layer come microseconds apart. */
    private static final long WORKER_SPIN_NANOS = 50_000;

    private final String name;
    private final MatrixEngine engine;
    private final WorkerPool pool;
    private final CpuDevice device;
    private final CostModel costs;
    private final Set<CpuCompiledGraph> openGraphs = ConcurrentHashMap.newKeySet();
    private final WeightStore weights = new WeightStore();
    private volatile boolean closed;

    public CpuBackend(BackendOptions options) {
        this("cpu", options, CostCalibration.configuredCacheDir(), pool -> MatrixEngine.NONE);
    }

    /**
     * A CPU backend called {@code name} whose matrix products {@code engine} may take over. The backend
     * owns the engine from here on and closes it with itself.
     *
     * @param engine creates the engine on the backend's threads (it may measure itself on them)
     */
    public CpuBackend(String name, BackendOptions options, Function<ParallelLoop, MatrixEngine> engine) {
        this(name, options, CostCalibration.configuredCacheDir(), engine);
    }

    /** @param costCache where calibrated cost rates are cached; empty uses the fixed defaults */
    CpuBackend(BackendOptions options, Optional<Path> costCache) {
        this("cpu", options, costCache, pool -> MatrixEngine.NONE);
    }

    private CpuBackend(String name, BackendOptions options, Optional<Path> costCache,
                       Function<ParallelLoop, MatrixEngine> engine) {
        this.name = name;
        int threads = options.effectiveThreads();
        this.pool = new WorkerPool(threads, "llmnpu-" + name + "-", WORKER_SPIN_NANOS);
        this.device = new CpuDevice(this);
        try {
            this.engine = engine.apply(pool);
        } catch (RuntimeException | Error e) {
            pool.close();
            throw e;
        }
        // Measured on this device's own kernels and threads (F32 products, which an engine leaves to
        // them), so the device must exist first.
        CostConstants rates = new CostCalibration(costCache, CostCalibration.machineKey(threads),
                () -> KernelRateProbe.measure(device)).constants(threads);
        this.costs = new CostModel(rates);
        LOG.debug("{} backend started: {} threads, {}-lane float vectors, cost rates {}, matrix products on {}", name,
                threads, VectorSpecs.LANES, rates, this.engine.description());
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public List<Device> devices() {
        return List.of(device);
    }

    /** The threads kernels use, the calling thread included. */
    public int threads() {
        return pool.parallelism();
    }

    CostModel costs() {
        return costs;
    }

    MatrixEngine engine() {
        return engine;
    }

    WorkerPool pool() {
        return pool;
    }

    /** Weights rearranged for the kernels, shared by this backend's graphs. */
    WeightStore weights() {
        return weights;
    }

    boolean isClosed() {
        return closed;
    }

    void remember(CpuCompiledGraph graph) {
        openGraphs.add(graph);
    }

    void forget(CpuCompiledGraph graph) {
        openGraphs.remove(graph);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (CpuCompiledGraph g : List.copyOf(openGraphs)) {
            g.close();
        }
        try {
            engine.close();
        } finally {
            weights.close();
            pool.close();
        }
    }
}
