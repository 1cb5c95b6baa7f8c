package io.llmnpu.backend.cpu;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.Device;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Vector API CPU backend: one device, {@code cpu0}, and the worker threads its kernels run on.
 * Closing it stops the threads and frees the memory of every graph compiled on it that is still open.
 */
public final class CpuBackend implements Backend {

    private static final Logger LOG = LoggerFactory.getLogger(CpuBackend.class);

    /** How long idle workers spin for the next op before parking: ops of a layer come microseconds apart. */
    private static final long WORKER_SPIN_NANOS = 50_000;

    private final WorkerPool pool;
    private final CpuDevice device;
    private final CostModel costs;
    private final Set<CpuCompiledGraph> openGraphs = ConcurrentHashMap.newKeySet();
    private final WeightStore weights = new WeightStore();
    private volatile boolean closed;

    public CpuBackend(BackendOptions options) {
        this(options, CostCalibration.configuredCacheDir());
    }

    /** @param costCache where calibrated cost rates are cached; empty uses the fixed defaults */
    CpuBackend(BackendOptions options, Optional<Path> costCache) {
        int threads = options.effectiveThreads();
        this.pool = new WorkerPool(threads, "llmnpu-cpu-", WORKER_SPIN_NANOS);
        this.device = new CpuDevice(this);
        // Measured on this device's own kernels and threads, so the device must exist first.
        CostConstants rates = new CostCalibration(costCache, CostCalibration.machineKey(threads),
                () -> KernelRateProbe.measure(device)).constants(threads);
        this.costs = new CostModel(rates);
        LOG.debug("cpu backend started: {} threads, {}-lane float vectors, cost rates {}", threads,
                VectorSpecs.LANES, rates);
    }

    @Override
    public String name() {
        return "cpu";
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
        weights.close();
        pool.close();
    }
}
