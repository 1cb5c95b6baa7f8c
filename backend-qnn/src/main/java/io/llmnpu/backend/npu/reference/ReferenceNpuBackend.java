package io.llmnpu.backend.npu.reference;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.graph.Op;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The reference NPU: enforces what an INT8 NPU demands (static shapes compiled ahead of time, INT8
 * weights, per-tensor INT8 activations, INT32 accumulation, saturating requantization, no float ops)
 * on any CPU with the Vector API, so that every NPU code path runs and is tested everywhere. Compiling
 * a graph packs its weights into INT8 tiles; packed layers are cached on disk, so the next process
 * with the same weights skips that work.
 */
public final class ReferenceNpuBackend implements Backend {

    private static final Logger LOG = LoggerFactory.getLogger(ReferenceNpuBackend.class);

    private final NpuSettings settings;
    private final NpuCores cores;
    private final CompileCache cache;
    private final ReferenceNpuDevice device;
    private final Set<NpuCompiledGraph> open = ConcurrentHashMap.newKeySet();
    private final AtomicLong packed = new AtomicLong();
    private final AtomicLong fromCache = new AtomicLong();
    private final AtomicLong graphs = new AtomicLong();
    private final AtomicLong packNanos = new AtomicLong();
    private final AtomicLong loadNanos = new AtomicLong();
    private volatile boolean closed;

    public ReferenceNpuBackend(NpuSettings settings) {
        this.settings = settings;
        this.cores = new NpuCores(settings.cores());
        this.cache = new CompileCache(settings.cacheDir());
        this.device = new ReferenceNpuDevice(this, settings.cores());
        LOG.debug("npu-ref backend: {} cores, {}-value INT8 slices, compile cache {}", settings.cores(),
                NpuVectors.SLICE, cache.enabled() ? cache.directory() : "off");
    }

    @Override
    public String name() {
        return ReferenceNpuProvider.NAME;
    }

    @Override
    public List<Device> devices() {
        return List.of(device);
    }

    public NpuSettings settings() {
        return settings;
    }

    /** Compile work done so far. */
    public CompileStats stats() {
        return new CompileStats(packed.get(), fromCache.get(), graphs.get(), packNanos.get(), loadNanos.get());
    }

    NpuCores cores() {
        return cores;
    }

    boolean isClosed() {
        return closed;
    }

    /** The packed form of {@code op}: from the disk cache when a valid blob exists, else packed now and stored. */
    PackedLinear pack(Op.QuantizedLinear op) {
        long t0 = System.nanoTime();
        String key = CompileCache.key(op, NpuVectors.SLICE);
        Optional<PackedLinear> cached = cache.load(key, op.weights().name());
        if (cached.isPresent()) {
            fromCache.incrementAndGet();
            loadNanos.addAndGet(System.nanoTime() - t0);
            return cached.get();
        }
        PackedLinear p = WeightPacker.pack(op, NpuVectors.SLICE);
        cache.store(key, p);
        packed.incrementAndGet();
        packNanos.addAndGet(System.nanoTime() - t0);
        return p;
    }

    void remember(NpuCompiledGraph graph) {
        graphs.incrementAndGet();
        open.add(graph);
    }

    void forget(NpuCompiledGraph graph) {
        open.remove(graph);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (NpuCompiledGraph g : List.copyOf(open)) {
            g.close();
        }
        cores.close();
    }
}
