package io.llmnpu.backend.cpu;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.Bindings;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.backend.support.BufferLivenessPlan;
import io.llmnpu.backend.support.ValueSlots;
import io.llmnpu.backend.support.GraphLifecycle;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A subgraph interpreted op by op on the CPU. Intermediate values get their memory once, at compile
 * time, from the graph's own shared arena (shared so that worker threads can use it), in buffers they
 * share by liveness ({@link BufferLivenessPlan}); every execution binds the caller's tensors for inputs and
 * outputs and runs the kernels in order.
 */
final class CpuCompiledGraph implements CompiledGraph {

    private static final Logger LOG = LoggerFactory.getLogger(CpuCompiledGraph.class);


    private final Subgraph graph;
    private final CpuBackend backend;
    private final Arena arena;
    /** Every value's tensor by slot: intermediates, then the tensors bound by the latest execution. */
    private final Tensor[] values;
    private final List<ValueSlots.Bound> bindings;
    private final List<Kernel> kernels;
    private final List<MatrixProduct> products;
    private final List<String> labels;
    private final List<WeightStore.Lease> leases;
    private final boolean weightsShareable;
    private final long scratchBytes;
    private boolean closed;
    private boolean warnedSerial;
    private boolean shareable;

    private CpuCompiledGraph(Subgraph graph, CpuBackend backend, Arena arena, Tensor[] intermediates,
                             List<ValueSlots.Bound> bindings, List<Kernel> kernels, List<MatrixProduct> products,
                             List<String> labels, List<WeightStore.Lease> leases, boolean weightsShareable,
                             long scratchBytes) {
        this.graph = graph;
        this.backend = backend;
        this.arena = arena;
        this.values = intermediates;
        this.bindings = bindings;
        this.kernels = kernels;
        this.products = products;
        this.labels = labels;
        this.leases = leases;
        this.weightsShareable = weightsShareable;
        this.scratchBytes = scratchBytes;
    }

    static CpuCompiledGraph compile(Subgraph graph, CpuBackend backend) {
        for (Op op : graph.ops()) {
            try {
                OpChecker.check(op, backend.engine());
            } catch (BackendException e) {
                throw new BackendException("graph " + graph.name() + ": " + e.getMessage(), e);
            }
        }
        Set<Integer> written = new HashSet<>();
        boolean weightsShareable = true;
        for (Op op : graph.ops()) {
            op.outputs().forEach(v -> written.add(v.id()));
            if (op instanceof Op.Attention a) {
                written.add(a.kCache().id());
                written.add(a.vCache().id());
            }
            for (MemorySegment w : weightsOf(op)) {
                weightsShareable &= backend.pool().canShare(w);
            }
        }

        ValueSlots slots = ValueSlots.of(graph, written);
        List<Value> slotValues = slots.values();
        Map<Integer, ValueSlots.Bound> bound = slots.bound();

        Arena arena = Arena.ofShared();
        List<MatrixProduct> products = new ArrayList<>();
        List<WeightStore.Lease> leases = new ArrayList<>();
        try {
            BufferLivenessPlan plan = BufferLivenessPlan.of(graph.ops(), bound.keySet());
            MemorySegment[] buffers = new MemorySegment[plan.buffers()];
            for (int b = 0; b < buffers.length; b++) {
                buffers[b] = arena.allocate(Math.max(1, plan.bufferBytes(b)), 64);
            }
            Tensor[] intermediates = new Tensor[slotValues.size()];
            for (int slot = 0; slot < slotValues.size(); slot++) {
                Value v = slotValues.get(slot);
                if (!bound.containsKey(v.id())) {
                    long bytes = v.dtype().byteSize(v.shape().elements());
                    intermediates[slot] = new Tensor(v.name(), v.dtype(), v.shape(),
                            buffers[plan.bufferOf(v.id())].asSlice(0, bytes));
                }
            }
            long scratchBytes = plan.totalBytes();
            List<Kernel> kernels = new ArrayList<>();
            List<String> labels = new ArrayList<>();
            Workspace workspace = new Workspace();
            MatrixEngine engine = backend.engine();
            List<Op> engineOps = graph.ops().stream().filter(engine::accepts).toList();
            if (!engineOps.isEmpty()) {
                products.addAll(engine.prepare(engineOps, weightsShareable ? backend.pool() : ParallelLoop.serial()));
                if (products.size() != engineOps.size()) {
                    throw new IllegalStateException("matrix engine " + engine.description() + " prepared "
                            + products.size() + " products for " + engineOps.size() + " ops");
                }
            }
            int nextProduct = 0;
            for (Op op : graph.ops()) {
                if (nextProduct < engineOps.size() && engineOps.get(nextProduct) == op) {
                    kernels.add(new ProductKernel(slots.slot(op.inputs().getFirst()),
                            slots.slot(op.outputs().getFirst()), products.get(nextProduct++)));
                } else {
                    kernels.add(KernelFactory.create(op, slots::slot, workspace,
                            w -> interleavedWeight(backend, w, leases), w -> smallCopy(arena, w)));
                }
                labels.add(OpChecker.describe(op));
            }
            LOG.debug("compiled graph {}: {} ops, {} bound values, {} bytes of intermediates in {} buffers",
                    graph.name(), kernels.size(), bound.size(), scratchBytes, buffers.length);
            return new CpuCompiledGraph(graph, backend, arena, intermediates, List.copyOf(bound.values()),
                    List.copyOf(kernels), List.copyOf(products), List.copyOf(labels), List.copyOf(leases),
                    weightsShareable, scratchBytes);
        } catch (RuntimeException | OutOfMemoryError e) {
            try {
                closeAll(products);
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            arena.close();
            leases.forEach(WeightStore.Lease::close);
            if (e instanceof BackendException be) {
                throw be;
            }
            throw new BackendException("graph " + graph.name() + ": cannot allocate its intermediates: " + e, e);
        }
    }

    /**
     * The backend's interleaved copy of a Linear weight, held by this graph until it closes; null where
     * interleaving is switched off. The copy is made with the worker threads when they may read the
     * weight.
     */
    private static Tensor interleavedWeight(CpuBackend backend, Tensor weight, List<WeightStore.Lease> leases) {
        ParallelLoop loop = backend.pool().canShare(weight.data()) ? backend.pool() : ParallelLoop.serial();
        WeightStore.Lease lease = backend.weights().interleaved(weight, loop);
        if (lease == null) {
            return null;
        }
        leases.add(lease);
        return lease.tensor();
    }

    /**
     * A memory-mapped small weight (a norm's scales, a bias) copied into the graph's memory, its file pages
     * given back: read from the file on every run, each would fault in the file's pages around it (the
     * kernel maps whole page-cache folios, up to megabytes of the large weights beside it, whose copies
     * are already made). Other weights are used as they are.
     */
    private static Tensor smallCopy(Arena arena, Tensor weight) {
        MemorySegment data = weight.data();
        if (!data.isMapped()) {
            return weight;
        }
        MemorySegment copy = arena.allocate(data.byteSize(), 64);
        copy.copyFrom(data);
        MappedPages.release(data);
        return new Tensor(weight.name(), weight.dtype(), weight.shape(), copy);
    }

    private static List<MemorySegment> weightsOf(Op op) {
        return switch (op) {
            case Op.Embedding e -> List.of(e.table().data());
            case Op.RmsNorm n -> List.of(n.weight().data());
            case Op.Linear l -> List.of(l.weight().data());
            case Op.OutlierShadow o -> List.of(o.weight().data());
            case Op.ShadowMerge m -> List.of(m.weight().data());
            case Op.QuantizedLinear q -> List.of(q.weights().data());
            case Op.LayerNorm n -> n.bias() == null ? List.of(n.weight().data())
                    : List.of(n.weight().data(), n.bias().data());
            case Op.AddBias b -> List.of(b.bias().data());
            case Op.Rope r -> r.freqFactors() == null ? List.of() : List.of(r.freqFactors().data());
            default -> List.of();
        };
    }

    /** Closes every product, even if some fail, then reports the first failure. */
    private static void closeAll(List<MatrixProduct> products) {
        RuntimeException failure = null;
        for (MatrixProduct p : products) {
            try {
                p.close();
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    /** Bytes of off-heap memory the graph's intermediate values occupy (shared by liveness, see {@link BufferLivenessPlan}). */
    long scratchBytes() {
        return scratchBytes;
    }

    @Override
    public Subgraph graph() {
        return graph;
    }

    @Override
    public synchronized void execute(Map<Value, Tensor> bound) {
        GraphLifecycle.requireRunnable(graph, closed, "cpu", backend.isClosed());
        // Decode binds the same tensors step after step: only a tensor not bound last time is checked.
        boolean changed = false;
        for (ValueSlots.Bound b : bindings) {
            Tensor t = bound.get(b.value());
            if (t == null || t != values[b.slot()]) {
                values[b.slot()] = bind(bound, b);
                changed = true;
            }
        }
        if (changed) {
            boolean all = weightsShareable;
            for (ValueSlots.Bound b : bindings) {
                all &= backend.pool().canShare(values[b.slot()].data());
            }
            shareable = all;
        }
        ParallelLoop loop = backend.pool();
        if (!shareable) {
            // Confined memory may only be touched by its owner thread, so run on the caller alone.
            if (!warnedSerial) {
                LOG.warn("graph {} runs single-threaded: some of its tensors live in a confined arena; "
                        + "allocate them from a shared or global arena to use all cpu threads", graph.name());
                warnedSerial = true;
            }
            loop = ParallelLoop.serial();
        }
        for (int i = 0; i < kernels.size(); i++) {
            try {
                kernels.get(i).run(values, loop);
            } catch (BackendException e) {
                throw new BackendException("graph " + graph.name() + ": " + e.getMessage(), e);
            } catch (RuntimeException e) {
                throw new BackendException("graph " + graph.name() + ": " + labels.get(i) + " failed: " + e, e);
            }
        }
    }

    private Tensor bind(Map<Value, Tensor> bound, ValueSlots.Bound b) {
        Tensor t = Bindings.require(graph, bound, b.value(), b.written());
        String heap = OpChecker.heapProblem(t.data());
        if (!heap.isEmpty()) {
            throw new BackendException("graph " + graph.name() + ": " + b.value() + " (tensor " + t + "): " + heap);
        }
        return t;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            try {
                closeAll(products);
            } finally {
                arena.close();
                leases.forEach(WeightStore.Lease::close);
                backend.forget(this);
            }
        }
    }
}
