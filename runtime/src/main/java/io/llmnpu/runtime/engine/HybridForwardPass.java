package io.llmnpu.runtime.engine;

import io.llmnpu.runtime.graph.Architectures;
import io.llmnpu.runtime.graph.ModelGraphBuilder;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.ModelConfig;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.IntFunction;

/**
 * A forward pass whose body is a {@link HybridGraph} over an NPU and the CPU, scoring whole sequences:
 * it returns the logits of every position (for perplexity and for comparing configurations), with
 * the LM head in float on the CPU. Body graphs are compiled once per row count, as static shapes
 * demand; NPU parts run on a driver thread of their own, beside the CPU parts. One pass at a time.
 */
public final class HybridForwardPass implements AutoCloseable {

    /** Row counts are rounded up to a multiple of this, so a few static shapes serve every length. */
    public static final int ROW_BUCKET = 64;

    private final ModelConfig config;
    private final IntFunction<HybridGraph> bodies;
    private final Tensor outputWeights;
    private final Device npu;
    private final Device cpu;
    private final int cacheRows;
    private final ExecutionTrace trace;
    private final Arena arena = Arena.ofShared();
    private final ExecutorService npuThread;
    private final Map<Integer, Body> compiled = new HashMap<>();
    private final List<String> external = new ArrayList<>();

    /**
     * @param bodies        the body graph for a row count (against {@code cacheRows} cache positions)
     * @param outputWeights the LM head [vocab, dim]
     * @param npu           the NPU device, or null when the bodies have no NPU parts
     * @param trace         receives part intervals; may be null
     */
    public HybridForwardPass(ModelConfig config, IntFunction<HybridGraph> bodies, Tensor outputWeights, Device npu,
                             Device cpu, int cacheRows, ExecutionTrace trace) {
        this.config = config;
        this.bodies = bodies;
        this.outputWeights = outputWeights;
        this.npu = npu;
        this.cpu = cpu;
        this.cacheRows = cacheRows;
        this.trace = trace;
        this.npuThread = npu == null ? null : Executors.newSingleThreadExecutor(
                Thread.ofPlatform().daemon().name("llmnpu-npu-driver").factory());
        for (int l = 0; l < config.layers(); l++) {
            external.add(ModelGraphBuilder.keyCacheName(l));
            external.add(ModelGraphBuilder.valueCacheName(l));
        }
    }

    /** The trace given at construction, or null. */
    public ExecutionTrace trace() {
        return trace;
    }

    public int cacheRows() {
        return cacheRows;
    }

    /** Rows of the static graph that runs a sequence of {@code length} tokens. */
    public int rowsFor(int length) {
        return Math.min(cacheRows, (length + ROW_BUCKET - 1) / ROW_BUCKET * ROW_BUCKET);
    }

    /**
     * Runs {@code tokens} at positions 0.. in one chunk and returns the logits of every row:
     * {@code [rowsFor(tokens.length), vocab]}, of which the first {@code tokens.length} rows are real.
     * The tensor is reused by the next call.
     */
    public Tensor logits(KvCache cache, int[] tokens) {
        if (tokens.length == 0 || tokens.length > cacheRows) {
            throw new IllegalArgumentException("a sequence must hold 1.." + cacheRows + " tokens, got " + tokens.length);
        }
        if (cache.capacity() != cacheRows) {
            throw new IllegalArgumentException("KV cache holds " + cache.capacity() + " rows, graphs expect " + cacheRows);
        }
        Body body = compiled.computeIfAbsent(rowsFor(tokens.length), this::compile);
        return body.run(cache, tokens);
    }

    private Body compile(int rows) {
        HybridRunner runner = new HybridRunner(bodies.apply(rows), npu, cpu, arena, external, npuThread, trace);
        try {
            SubgraphBuilder g = new SubgraphBuilder("logits-" + rows);
            Value in = g.input(ModelGraphBuilder.HIDDEN, DType.F32, Shape.of(rows, config.dim()));
            Value out = g.value(ModelGraphBuilder.LOGITS, DType.F32, Shape.of(rows, config.vocabSize()));
            g.add(new Op.Linear(in, outputWeights, out));
            g.output(out);
            Subgraph head = g.build();
            CompiledGraph headGraph = cpu.compile(head);
            Tensor logits = Tensor.allocate(arena, "logits", DType.F32, out.shape());
            return new Body(runner, headGraph, Map.of(in, runner.tensor(ModelGraphBuilder.HIDDEN), out, logits), logits,
                    rows);
        } catch (RuntimeException e) {
            runner.close();
            throw e;
        }
    }

    @Override
    public void close() {
        compiled.values().forEach(Body::close);
        compiled.clear();
        if (npuThread != null) {
            npuThread.shutdownNow();
        }
        arena.close();
    }

    /** One compiled row count: the body runner, the head, and their tensors. */
    private final class Body {
        private final HybridRunner runner;
        private final CompiledGraph head;
        private final Map<Value, Tensor> headBindings;
        private final Tensor logits;
        private final int rows;

        Body(HybridRunner runner, CompiledGraph head, Map<Value, Tensor> headBindings, Tensor logits, int rows) {
            this.runner = runner;
            this.head = head;
            this.headBindings = headBindings;
            this.logits = logits;
            this.rows = rows;
        }

        Tensor run(KvCache cache, int[] sequence) {
            Tensor tokens = runner.tensor(ModelGraphBuilder.TOKENS);
            Tensor positions = runner.tensor(ModelGraphBuilder.POSITIONS);
            for (int i = 0; i < rows; i++) {
                boolean real = i < sequence.length;
                tokens.setInt(i, real ? sequence[i] : 0);
                positions.setInt(i, real ? i : -1);
            }
            Map<String, Tensor> caches = new HashMap<>();
            for (int l = 0; l < config.layers(); l++) {
                caches.put(ModelGraphBuilder.keyCacheName(l), cache.keys(l));
                caches.put(ModelGraphBuilder.valueCacheName(l), cache.values(l));
            }
            runner.run(caches);
            head.execute(headBindings);
            return logits;
        }

        void close() {
            runner.close();
            head.close();
        }
    }

    /** Copies row {@code row} of a [rows, vocab] logits tensor to a new array. */
    public static float[] row(Tensor logits, int row) {
        int vocab = logits.shape().cols();
        float[] out = new float[vocab];
        MemorySegment.copy(logits.data(), Tensor.F32_LE, (long) row * vocab * Float.BYTES, out, 0, vocab);
        return out;
    }
}
