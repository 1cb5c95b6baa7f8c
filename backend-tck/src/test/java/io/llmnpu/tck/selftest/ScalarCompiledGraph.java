package io.llmnpu.tck.selftest;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.RopeStyle;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A graph prepared for {@link ScalarDevice}: weights decoded to F32 and a scratch buffer for every
 * intermediate value, all in one arena that close() frees.
 */
final class ScalarCompiledGraph implements CompiledGraph {
    private final ScalarDevice device;
    private final ReferenceTestBackend backend;
    private final Subgraph graph;
    private final Arena arena = Arena.ofShared();
    private final Map<Value, MemorySegment> scratch = new HashMap<>();
    private final List<MemorySegment> weights = new ArrayList<>();
    private final List<ActivationRounding> roundings = new ArrayList<>();
    private final float[] accumulator;
    private volatile boolean closed;

    ScalarCompiledGraph(ScalarDevice device, Subgraph graph) {
        this.device = device;
        this.backend = device.backend();
        this.graph = graph;
        Set<Value> bound = new HashSet<>(graph.inputs());
        bound.addAll(graph.outputs());
        int widest = 1;
        for (Op op : graph.ops()) {
            for (Value out : op.outputs()) {
                if (!bound.contains(out)) {
                    scratch.put(out, arena.allocate(out.dtype().byteSize(out.shape().elements()), 64));
                }
                widest = Math.max(widest, out.shape().cols());
            }
            Tensor w = switch (op) {
                case Op.Embedding e -> e.table();
                case Op.RmsNorm r -> r.weight();
                case Op.Linear l -> l.weight();
                case Op.OutlierShadow o -> o.weight();
                case Op.ShadowMerge m -> m.weight();
                default -> null;
            };
            weights.add(w == null ? null : ScalarKernels.unpack(w, arena, backend.has(Defect.Q4_0_INTERLEAVED_NIBBLES)));
            roundings.add(w != null && backend.lossyActivations() ? ActivationRounding.forWeights(w.dtype()) : ActivationRounding.NONE);
        }
        accumulator = new float[widest];
    }

    @Override
    public Subgraph graph() {
        return graph;
    }

    @Override
    public void execute(Map<Value, Tensor> bindings) {
        boolean inline = backend.has(Defect.USE_AFTER_CLOSE_UNCHECKED);
        if (closed && !inline) {
            throw new BackendException("graph " + graph.name() + " was closed and cannot run");
        }
        backend.requireOpen("execute " + graph.name());
        if (!backend.has(Defect.NO_BINDING_VALIDATION)) {
            validate(bindings);
        }
        device.executing().incrementAndGet();
        try {
            if (inline) {
                run(bindings);
                return;
            }
            backend.onWorker("execute " + graph.name(), () -> {
                run(bindings);
                return null;
            });
        } finally {
            device.executing().decrementAndGet();
        }
    }

    private void validate(Map<Value, Tensor> bindings) {
        List<Value> bound = new ArrayList<>(graph.inputs());
        bound.addAll(graph.outputs());
        for (Value v : bound) {
            Tensor t = bindings.get(v);
            if (t == null) {
                throw new BackendException("graph " + graph.name() + ": no tensor bound for " + v);
            }
            if (t.dtype() != v.dtype() || !t.shape().equals(v.shape())) {
                throw new BackendException("graph " + graph.name() + " was compiled for " + v + " but got tensor "
                        + t + "; compile the graph again for a new shape");
            }
        }
    }

    private void run(Map<Value, Tensor> bindings) {
        for (int i = 0; i < graph.ops().size(); i++) {
            Op op = graph.ops().get(i);
            MemorySegment w = weights.get(i);
            switch (op) {
                case Op.Embedding e -> ScalarKernels.embedding(seg(e.tokens(), bindings), w,
                        (int) e.tokens().shape().elements(),
                        e.out().shape().cols(), seg(e.out(), bindings));
                case Op.RmsNorm r -> ScalarKernels.rmsNorm(seg(r.in(), bindings), w, r.eps(), r.in().shape().rows(),
                        r.in().shape().cols(), seg(r.out(), bindings), backend.has(Defect.RMSNORM_IGNORES_EPS));
                case Op.Linear l -> {
                    boolean shared = backend.has(Defect.SHARED_ACCUMULATOR);
                    ScalarKernels.linear(seg(l.in(), bindings), w, l.in().shape().rows(), l.in().shape().cols(),
                            l.out().shape().cols(), seg(l.out(), bindings), roundings.get(i),
                            shared ? device.sharedAccumulator() : accumulator,
                            shared ? this::widenRaceWindow : () -> { });
                }
                case Op.Rope r -> ScalarKernels.rope(seg(r.in(), bindings), seg(r.positions(), bindings),
                        r.in().shape().rows(), r.in().shape().cols(), r.headDim(), r.rotaryDims(), r.theta(),
                        r.style() == RopeStyle.NEOX && !backend.has(Defect.NEOX_ROTATES_ADJACENT_PAIRS),
                        r.freqFactors() == null ? null : r.freqFactors().data(), seg(r.out(), bindings));
                case Op.Attention a -> ScalarKernels.attention(seg(a.q(), bindings), seg(a.k(), bindings),
                        seg(a.v(), bindings), seg(a.positions(), bindings), seg(a.kCache(), bindings),
                        seg(a.vCache(), bindings), a.q().shape().rows(), a.heads(), a.kvHeads(), a.headDim(),
                        a.scale(), a.softCap(), a.window(), seg(a.out(), bindings),
                        backend.has(Defect.GQA_INTERLEAVED_HEADS));
                case Op.GeluMul m -> ScalarKernels.geluMul(seg(m.gate(), bindings), seg(m.up(), bindings),
                        m.out().shape().elements(), seg(m.out(), bindings));
                case Op.Gelu u -> ScalarKernels.map(seg(u.in(), bindings), u.out().shape().elements(),
                        seg(u.out(), bindings), x -> ScalarKernels.gelu((float) x));
                case Op.Scale sc -> ScalarKernels.map(seg(sc.in(), bindings), sc.out().shape().elements(),
                        seg(sc.out(), bindings), x -> x * sc.factor());
                case Op.SoftCap c -> ScalarKernels.map(seg(c.in(), bindings), c.out().shape().elements(),
                        seg(c.out(), bindings), x -> c.cap() * (float) Math.tanh(x / c.cap()));
                case Op.LayerNorm n -> ScalarKernels.layerNorm(seg(n.in(), bindings), n.weight().data(),
                        n.bias() == null ? null : n.bias().data(), n.eps(), n.in().shape().rows(),
                        n.in().shape().cols(), seg(n.out(), bindings));
                case Op.AddBias b -> ScalarKernels.addBias(seg(b.in(), bindings), b.bias().data(),
                        b.in().shape().rows(), b.in().shape().cols(), seg(b.out(), bindings));
                case Op.SiluMul s -> ScalarKernels.siluMul(seg(s.gate(), bindings), seg(s.up(), bindings),
                        s.out().shape().elements(), seg(s.out(), bindings));
                case Op.Add a -> ScalarKernels.add(seg(a.a(), bindings), seg(a.b(), bindings),
                        a.out().shape().elements(), seg(a.out(), bindings));
                case Op.SelectRow s -> ScalarKernels.selectRow(seg(s.in(), bindings), s.row(), s.in().shape().cols(),
                        seg(s.out(), bindings));
                case Op.QuantizedLinear q -> ScalarKernels.quantizedLinear(seg(q.in(), bindings), q.weights(),
                        q.in().shape().rows(), q.inputScale(), q.outputScale(), seg(q.out(), bindings),
                        backend.has(Defect.INT8_CODES_TRUNCATED));
                case Op.OutlierShadow o -> ScalarKernels.outlierShadow(seg(o.in(), bindings), w, o.in().shape().rows(),
                        o.in().shape().cols(), o.out().shape().cols(), o.clipThreshold(), seg(o.out(), bindings));
                case Op.ShadowMerge m -> ScalarKernels.shadowMerge(seg(m.npu(), bindings), seg(m.shadow(), bindings),
                        seg(m.in(), bindings), w, m.in().shape().rows(), m.in().shape().cols(), m.out().shape().cols(),
                        backend.has(Defect.SATURATION_NOT_REPAIRED) ? Float.POSITIVE_INFINITY : m.saturationLimit(),
                        seg(m.out(), bindings));
            }
        }
    }

    /**
     * With {@link Defect#SHARED_ACCUMULATOR}, pauses between gathering a row and storing it while
     * another graph runs on the device, so the collision the defect allows happens on every run
     * instead of by chance.
     */
    private void widenRaceWindow() {
        if (device.executing().get() > 1) {
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private MemorySegment seg(Value v, Map<Value, Tensor> bindings) {
        MemorySegment s = scratch.get(v);
        return s != null ? s : bindings.get(v).data();
    }

    @Override
    public void close() {
        if (backend.has(Defect.LEAKY_CLOSE) || closed) {
            return;
        }
        closed = true;
        arena.close();
    }
}
