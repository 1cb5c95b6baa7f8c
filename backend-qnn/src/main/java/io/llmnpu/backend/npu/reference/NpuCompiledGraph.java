package io.llmnpu.backend.npu.reference;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.Bindings;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.backend.support.GraphLifecycle;
import io.llmnpu.backend.support.ValueSlots;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A graph of INT8 linear layers compiled for its static shapes: packed weights, the scratch for
 * activation codes and accumulators, and the intermediates between layers. Layers that read the same
 * input with the same scale share one ingress quantization (as q, k and v do).
 */
final class NpuCompiledGraph implements CompiledGraph {

    /** One layer: its packed weights, the slots of its edges, and the code buffer it reads. */
    private record Step(PackedLinear packed, int inSlot, int outSlot, int codes, int tokens) {
    }

    private final Subgraph graph;
    private final ReferenceNpuBackend backend;
    private final Arena arena;
    private final Tensor[] intermediates;
    private final List<ValueSlots.Bound> edges;
    private final List<Step> steps;
    private final int[][] codeBuffers;
    private final int[] accumulators;
    private boolean closed;

    private NpuCompiledGraph(Subgraph graph, ReferenceNpuBackend backend, Arena arena, Tensor[] intermediates,
                             List<ValueSlots.Bound> edges, List<Step> steps, int[][] codeBuffers, int[] accumulators) {
        this.graph = graph;
        this.backend = backend;
        this.arena = arena;
        this.intermediates = intermediates;
        this.edges = edges;
        this.steps = steps;
        this.codeBuffers = codeBuffers;
        this.accumulators = accumulators;
    }

    static NpuCompiledGraph compile(Subgraph graph, ReferenceNpuBackend backend) {
        for (Op op : graph.ops()) {
            String problem = NpuOpRules.problem(op);
            if (!problem.isEmpty()) {
                throw new BackendException("graph " + graph.name() + " cannot run on npu-ref: " + problem);
            }
        }
        ValueSlots slots = ValueSlots.of(graph, Set.of());
        List<Value> slotValues = slots.values();
        Map<Integer, ValueSlots.Bound> bound = slots.bound();

        List<Step> steps = new ArrayList<>();
        Map<String, Integer> codeIndex = new HashMap<>();
        List<Integer> codeSizes = new ArrayList<>();
        int accSize = 0;
        for (Op op : graph.ops()) {
            Op.QuantizedLinear q = (Op.QuantizedLinear) op;
            PackedLinear packed = backend.pack(q);
            int tokens = q.in().shape().rows();
            String codesKey = q.in().id() + "/" + Float.floatToIntBits(q.inputScale());
            int codes = codeIndex.computeIfAbsent(codesKey, k -> {
                codeSizes.add(Math.multiplyExact(tokens, packed.paddedCols()));
                return codeSizes.size() - 1;
            });
            steps.add(new Step(packed, slots.slot(q.in()), slots.slot(q.out()), codes, tokens));
            accSize = Math.max(accSize, Math.multiplyExact(tokens, packed.groups() * NpuVectors.TILE_ROWS));
        }

        Arena arena = Arena.ofShared();
        try {
            Tensor[] intermediates = new Tensor[slotValues.size()];
            for (int slot = 0; slot < slotValues.size(); slot++) {
                Value v = slotValues.get(slot);
                if (!bound.containsKey(v.id())) {
                    intermediates[slot] = Tensor.allocate(arena, v.name(), v.dtype(), v.shape());
                }
            }
            int[][] codeBuffers = new int[codeSizes.size()][];
            for (int i = 0; i < codeBuffers.length; i++) {
                codeBuffers[i] = new int[codeSizes.get(i)];
            }
            return new NpuCompiledGraph(graph, backend, arena, intermediates, List.copyOf(bound.values()),
                    List.copyOf(steps), codeBuffers, new int[accSize]);
        } catch (RuntimeException | OutOfMemoryError e) {
            arena.close();
            throw new BackendException("graph " + graph.name() + ": cannot allocate npu-ref scratch: " + e, e);
        }
    }

    @Override
    public Subgraph graph() {
        return graph;
    }

    @Override
    public synchronized void execute(Map<Value, Tensor> bindings) {
        GraphLifecycle.requireRunnable(graph, closed, "npu-ref", backend.isClosed());
        Tensor[] values = intermediates.clone();
        for (ValueSlots.Bound e : edges) {
            values[e.slot()] = Bindings.require(graph, bindings, e.value(), e.written());
        }
        boolean[] quantized = new boolean[codeBuffers.length];
        for (Step s : steps) {
            PackedLinear p = s.packed();
            int[] codes = codeBuffers[s.codes()];
            if (!quantized[s.codes()]) {
                ActivationQuantizer.quantize(values[s.inSlot()].data(), s.tokens(), p.cols(), p.inputScale(), codes,
                        p.paddedCols());
                quantized[s.codes()] = true;
            }
            int accStride = p.groups() * NpuVectors.TILE_ROWS;
            int minGroups = (int) Math.max(1, 65536L / ((long) s.tokens() * p.paddedCols() * NpuVectors.TILE_ROWS));
            backend.cores().forRange(p.groups(), minGroups,
                    (from, to) -> Int8Gemm.multiply(p, codes, s.tokens(), accumulators, accStride, from, to));
            OutputStage.write(p, accumulators, accStride, s.tokens(), values[s.outSlot()].data());
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            arena.close();
            backend.forget(this);
        }
    }
}
