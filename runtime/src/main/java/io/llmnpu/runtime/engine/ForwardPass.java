package io.llmnpu.runtime.engine;

import io.llmnpu.runtime.graph.Architectures;
import io.llmnpu.runtime.graph.ModelGraphBuilder;
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
import java.util.concurrent.locks.ReentrantLock;

/**
 * Runs the model: prompts in static-shape chunks, single tokens for decode. Graphs are built once per
 * row count and reused for every chunk and every later prompt; a {@link DevicePlan} compiles them on
 * its devices and runs each step (a chunk, a decode step, the LM head) on the best device still
 * working, re-running a step on the next device if one fails.
 *
 * <p>Thread-safe: each caller brings its own {@link KvCache}, and the engine steps of all callers (one
 * prefill chunk with, for the last chunk, the LM head; one decode step) run one at a time under
 * {@link #stepLock}, because compiled graphs and the input and output tensors here are shared. So
 * concurrent sequences interleave step by step and never see each other's state. This lock is the
 * runtime's one engine lock: generations, sessions, conversations and the server's slots all step
 * through it. After
 * {@link #close()} (which waits for the step in flight) every step fails with an
 * {@link IllegalStateException}.
 */
public final class ForwardPass implements AutoCloseable {
    private final ModelConfig config;
    private final ModelGraphBuilder graphs;
    private final DevicePlan plan;
    private final boolean ownsPlan;
    private final ChunkPlanner planner;
    private final int cacheRows;
    private final Arena arena = Arena.ofShared();
    private final Map<Integer, BodyRunner> bodies = new HashMap<>();
    private final Subgraph head;
    private final Map<Value, Tensor> headBindings;
    private final Tensor headIn;
    private final Tensor logits;
    /**
     * Held for each engine step; guards everything above that changes (bodies, tensors) and {@link #closed}.
     * Fair, so that sequences waiting for a step take turns instead of one running ahead.
     */
    private final ReentrantLock stepLock = new ReentrantLock(true);
    private boolean closed;

    /** Runs on {@code device} alone; the caller keeps ownership of its backend. */
    public ForwardPass(ModelConfig config, ModelWeights weights, Device device, ChunkPlanner planner, int cacheRows) {
        this(config, weights, DevicePlan.of(device), true, planner, cacheRows);
    }

    /** Runs on the devices of {@code plan}, which the caller keeps and closes after this. */
    public ForwardPass(ModelConfig config, ModelWeights weights, DevicePlan plan, ChunkPlanner planner, int cacheRows) {
        this(config, weights, plan, false, planner, cacheRows);
    }

    private ForwardPass(ModelConfig config, ModelWeights weights, DevicePlan plan, boolean ownsPlan,
                        ChunkPlanner planner, int cacheRows) {
        this.config = config;
        this.graphs = Architectures.graphs(config, weights);
        this.plan = plan;
        this.ownsPlan = ownsPlan;
        this.planner = planner;
        this.cacheRows = cacheRows;
        this.head = graphs.head();
        this.headIn = Tensor.allocate(arena, "head_in", DType.F32, Shape.of(1, config.dim()));
        this.logits = Tensor.allocate(arena, "logits", DType.F32, Shape.of(1, config.vocabSize()));
        this.headBindings = Map.of(head.inputs().getFirst(), headIn, head.outputs().getFirst(), logits);
        plan.prepare(head);
    }

    /** The graphs a forward pass runs for prefill chunks of {@code chunkRows}: what devices are ranked by. */
    public static List<Subgraph> workload(ModelConfig config, ModelWeights weights, int chunkRows, int cacheRows) {
        ModelGraphBuilder graphs = Architectures.graphs(config, weights);
        return List.of(graphs.body(chunkRows, cacheRows), graphs.head());
    }

    public ModelConfig config() {
        return config;
    }

    public ChunkPlanner planner() {
        return planner;
    }

    /** Compiles the body graph for {@code rows} now rather than at first use (start-up warm-up). */
    public void prepare(int rows) {
        stepLock.lock();
        try {
            requireOpen();
            plan.prepare(body(rows).graph);
        } finally {
            stepLock.unlock();
        }
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
        for (int i = 0; ; i++) {
            ChunkPlanner.Chunk chunk = chunks.get(i);
            stepLock.lock(); // one step; other sequences' steps may run between two chunks of this one
            try {
                requireOpen();
                Tensor hidden = body(chunk.rows()).run(cache, tokens, chunk, startPos);
                if (i == chunks.size() - 1) {
                    long rowBytes = (long) config.dim() * Float.BYTES;
                    MemorySegment.copy(hidden.data(), (chunk.length() - 1) * rowBytes, headIn.data(), 0, rowBytes);
                    plan.execute(head, headBindings);
                    return logits.toFloatArray();
                }
            } finally {
                stepLock.unlock();
            }
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("the runtime is closed");
        }
    }

    private BodyRunner body(int rows) {
        return bodies.computeIfAbsent(rows, r -> new BodyRunner(graphs.body(r, cacheRows), r));
    }

    /** Waits for the step in flight, then frees the graphs' tensors; later steps fail. */
    @Override
    public void close() {
        stepLock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            bodies.clear();
            if (ownsPlan) {
                plan.close();
            }
            arena.close();
        } finally {
            stepLock.unlock();
        }
    }

    /** A body graph with its input and output tensors. */
    private final class BodyRunner {
        private final Subgraph graph;
        private final Tensor tokens;
        private final Tensor positions;
        private final Tensor hidden;
        private final Map<String, Value> values = new HashMap<>();
        /** The bindings of the cache used last: decode runs step after step on the same cache. */
        private KvCache boundCache;
        private Map<Value, Tensor> bindings;

        BodyRunner(Subgraph graph, int rows) {
            this.graph = graph;
            graph.inputs().forEach(v -> values.put(v.name(), v));
            graph.outputs().forEach(v -> values.put(v.name(), v));
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
            if (cache != boundCache) {
                Map<Value, Tensor> b = new HashMap<>();
                b.put(values.get(ModelGraphBuilder.TOKENS), tokens);
                b.put(values.get(ModelGraphBuilder.POSITIONS), positions);
                b.put(values.get(ModelGraphBuilder.HIDDEN), hidden);
                for (int l = 0; l < config.layers(); l++) {
                    b.put(values.get(ModelGraphBuilder.keyCacheName(l)), cache.keys(l));
                    b.put(values.get(ModelGraphBuilder.valueCacheName(l)), cache.values(l));
                }
                bindings = Map.copyOf(b);
                boundCache = cache;
            }
            plan.execute(graph, bindings);
            return hidden;
        }
    }
}
