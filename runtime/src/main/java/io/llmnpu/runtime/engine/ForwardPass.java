package io.llmnpu.runtime.engine;

import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelWeights;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs the model on one device: prompts in static-shape chunks, single tokens for decode. Compiled
 * graphs are built once per row count and reused for every chunk and every later prompt. One forward
 * pass at a time (compiled graphs own their scratch memory); the caller serialises.
 */
public final class ForwardPass implements AutoCloseable {
    private final ModelConfig config;
    private final LlamaGraphBuilder graphs;
    private final Device device;
    private final ChunkPlanner planner;
    private final int cacheRows;
    private final Arena arena = Arena.ofShared();
    private final Map<Integer, BodyRunner> bodies = new HashMap<>();
    private final CompiledGraph head;
    private final Tensor headIn;
    private final Tensor logits;

    public ForwardPass(ModelConfig config, ModelWeights weights, Device device, ChunkPlanner planner, int cacheRows) {
        this.config = config;
        this.graphs = new LlamaGraphBuilder(config, weights);
        this.device = device;
        this.planner = planner;
        this.cacheRows = cacheRows;
        this.head = device.compile(graphs.head());
        this.headIn = Tensor.allocate(arena, "head_in", DType.F32, Shape.of(1, config.dim()));
        this.logits = Tensor.allocate(arena, "logits", DType.F32, Shape.of(1, config.vocabSize()));
    }

    public ModelConfig config() {
        return config;
    }

    public ChunkPlanner planner() {
        return planner;
    }

    /** Compiles the body graph for {@code rows} now rather than at first use (start-up warm-up). */
    public void prepare(int rows) {
        body(rows);
    }

    /**
     * Feeds {@code tokens} at positions {@code startPos..} into the cache and returns the logits after
     * the last one. A single token runs the one-row decode graph; more run in chunks.
     */
    public float[] forward(KvCache cache, int[] tokens, int startPos) {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("nothing to run: no tokens");
        }
        if (cache.capacity() != cacheRows) {
            throw new IllegalArgumentException("KV cache holds " + cache.capacity() + " rows, graphs expect " + cacheRows);
        }
        if (startPos < 0 || startPos + tokens.length > cacheRows) {
            throw new IllegalArgumentException("positions " + startPos + ".." + (startPos + tokens.length - 1)
                    + " do not fit the context of " + cacheRows + " tokens");
        }
        List<ChunkPlanner.Chunk> chunks = tokens.length == 1
                ? List.of(new ChunkPlanner.Chunk(0, 1, 1))
                : planner.plan(tokens.length);
        Tensor hidden = null;
        ChunkPlanner.Chunk last = null;
        for (ChunkPlanner.Chunk chunk : chunks) {
            hidden = body(chunk.rows()).run(cache, tokens, chunk, startPos);
            last = chunk;
        }
        long rowBytes = (long) config.dim() * Float.BYTES;
        MemorySegment.copy(hidden.data(), (last.length() - 1) * rowBytes, headIn.data(), 0, rowBytes);
        head.execute(Map.of(head.graph().inputs().getFirst(), headIn, head.graph().outputs().getFirst(), logits));
        return logits.toFloatArray();
    }

    private BodyRunner body(int rows) {
        return bodies.computeIfAbsent(rows, r -> new BodyRunner(device.compile(graphs.body(r, cacheRows)), r));
    }

    @Override
    public void close() {
        bodies.values().forEach(b -> b.graph.close());
        bodies.clear();
        head.close();
        arena.close();
    }

    /** A compiled body graph with its input and output tensors. */
    private final class BodyRunner {
        private final CompiledGraph graph;
        private final Tensor tokens;
        private final Tensor positions;
        private final Tensor hidden;
        private final Map<String, Value> values = new HashMap<>();

        BodyRunner(CompiledGraph graph, int rows) {
            this.graph = graph;
            Subgraph g = graph.graph();
            g.inputs().forEach(v -> values.put(v.name(), v));
            g.outputs().forEach(v -> values.put(v.name(), v));
            this.tokens = Tensor.allocate(arena, "tokens", DType.I32, Shape.of(rows));
            this.positions = Tensor.allocate(arena, "positions", DType.I32, Shape.of(rows));
            this.hidden = Tensor.allocate(arena, "hidden", DType.F32, Shape.of(rows, config.dim()));
        }

        Tensor run(KvCache cache, int[] promptTokens, ChunkPlanner.Chunk chunk, int startPos) {
            for (int i = 0; i < chunk.rows(); i++) {
                boolean real = i < chunk.length();
                tokens.setInt(i, real ? promptTokens[chunk.start() + i] : 0);
                positions.setInt(i, real ? startPos + chunk.start() + i : -1);
            }
            Map<Value, Tensor> bindings = new HashMap<>();
            bindings.put(values.get(LlamaGraphBuilder.TOKENS), tokens);
            bindings.put(values.get(LlamaGraphBuilder.POSITIONS), positions);
            bindings.put(values.get(LlamaGraphBuilder.HIDDEN), hidden);
            for (int l = 0; l < config.layers(); l++) {
                bindings.put(values.get(LlamaGraphBuilder.keyCacheName(l)), cache.keys(l));
                bindings.put(values.get(LlamaGraphBuilder.valueCacheName(l)), cache.values(l));
            }
            graph.execute(bindings);
            return hidden;
        }
    }
}
