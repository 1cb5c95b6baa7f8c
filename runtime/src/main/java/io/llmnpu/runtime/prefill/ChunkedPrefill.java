package io.llmnpu.runtime.prefill;

import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.engine.HybridGraph;
import io.llmnpu.runtime.engine.KvCache;
import io.llmnpu.runtime.graph.Architectures;
import io.llmnpu.runtime.graph.ModelGraphBuilder;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.scheduler.CostTable;
import io.llmnpu.scheduler.TaskGraph;
import io.llmnpu.scheduler.TaskKind;
import io.llmnpu.scheduler.Workload;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * A chunked prefill compiled as a DAG of subgraph tasks. Every chunk gets its own compiled copy of
 * each part of the hybrid body graph and its own activation tensors, so several chunks can be in
 * flight at once; the KV cache is shared. A task is one part (the NPU or the CPU half of a stage) of
 * one chunk, plus a final task that projects the prompt's last position to logits.
 *
 * <p>Dependencies are read off the graphs: a part waits for the parts of its chunk that produce the
 * values it reads; a part that touches the KV cache of a layer (attention) also waits for the
 * attention of that layer in the chunk before, whose cache rows it reads. Task ids follow program
 * order (chunk by chunk, stage by stage, NPU half first), which is a topological order.
 *
 * <p>Running the tasks in any order the DAG allows computes bit for bit the same logits: each part
 * is the same compiled graph over the same inputs, and the attention of a layer still sees the
 * cache rows of earlier chunks in chunk order.
 */
public final class ChunkedPrefill implements AutoCloseable {

    /** Device indices in the task graph's cost tables and traces. */
    public static final int NPU = 0;
    public static final int CPU = 1;

    /** One task: what it runs and on which device. */
    public record Job(int device, String stage, Runnable body) {
    }

    /** Tasks carry measured costs, not modelled workloads. */
    private static final Workload NO_WORKLOAD = new Workload(0, 0);

    private final ModelConfig config;
    private final int chunkRows;
    private final int chunks;
    private final int promptTokens;
    private final Arena arena = Arena.ofShared();
    private final List<CompiledGraph> compiled = new ArrayList<>();
    private final List<Map<String, Tensor>> chunkBuffers = new ArrayList<>();
    private final List<Job> jobs = new ArrayList<>();
    private final TaskGraph graph;
    private final Tensor lastHidden;
    private final Tensor logits;

    /**
     * @param bodies        the hybrid body graph for a row count, against {@code cache}'s rows
     * @param outputWeights the LM head [vocab, dim]
     * @param npu           runs the NPU parts
     * @param cpu           runs the CPU parts and the LM head
     * @param cache         shared by all chunks; must hold {@code chunks * chunkRows} positions
     */
    public ChunkedPrefill(ModelConfig config, IntFunction<HybridGraph> bodies, Tensor outputWeights, Device npu,
                          Device cpu, KvCache cache, int promptTokens, int chunkRows) {
        if (promptTokens < 1 || chunkRows < 1) {
            throw new IllegalArgumentException("prefill needs a positive prompt length and chunk size, got "
                    + promptTokens + " and " + chunkRows);
        }
        this.config = config;
        this.chunkRows = chunkRows;
        this.promptTokens = promptTokens;
        this.chunks = (promptTokens + chunkRows - 1) / chunkRows;
        if (cache.capacity() < chunks * chunkRows) {
            throw new IllegalArgumentException("KV cache holds " + cache.capacity() + " rows; " + chunks
                    + " chunks of " + chunkRows + " need " + chunks * chunkRows);
        }
        try {
            HybridGraph body = bodies.apply(chunkRows);
            Map<String, Tensor> caches = new HashMap<>();
            for (int l = 0; l < config.layers(); l++) {
                caches.put(ModelGraphBuilder.keyCacheName(l), cache.keys(l));
                caches.put(ModelGraphBuilder.valueCacheName(l), cache.values(l));
            }
            TaskGraph.Builder b = TaskGraph.builder();
            Map<String, Integer> previousChunkCacheUser = new HashMap<>();
            for (int c = 0; c < chunks; c++) {
                Map<String, Tensor> buffers = new HashMap<>(caches);
                for (Map.Entry<String, Value> e : body.boundaryValues().entrySet()) {
                    if (!caches.containsKey(e.getKey())) {
                        Value v = e.getValue();
                        buffers.put(e.getKey(), Tensor.allocate(arena, v.name() + "@" + c, v.dtype(), v.shape()));
                    }
                }
                chunkBuffers.add(buffers);
                Map<String, Integer> producer = new HashMap<>();
                Map<String, Integer> cacheUser = new HashMap<>();
                for (HybridGraph.Stage s : body.stages()) {
                    for (int d : new int[] {NPU, CPU}) {
                        Subgraph part = d == NPU ? s.npu() : s.cpu();
                        if (part == null) {
                            continue;
                        }
                        CompiledGraph g = (d == NPU ? npu : cpu).compile(part);
                        compiled.add(g);
                        Map<Value, Tensor> bindings = new HashMap<>();
                        part.inputs().forEach(v -> bindings.put(v, buffers.get(v.name())));
                        part.outputs().forEach(v -> bindings.put(v, buffers.get(v.name())));
                        int task = b.add(c, layerOf(s.name()), kindOf(s.name(), d), NO_WORKLOAD);
                        jobs.add(new Job(d, s.name(), () -> g.execute(bindings)));
                        for (Value in : part.inputs()) {
                            Integer p = producer.get(in.name());
                            if (p != null) {
                                b.dependency(p, task);
                            }
                            if (caches.containsKey(in.name())) {
                                Integer before = previousChunkCacheUser.get(in.name());
                                if (before != null) {
                                    b.dependency(before, task);
                                }
                                cacheUser.put(in.name(), task);
                            }
                        }
                        for (Value out : part.outputs()) {
                            producer.put(out.name(), task);
                        }
                    }
                }
                previousChunkCacheUser = cacheUser;
                fillPositions(buffers, c);
            }
            // The LM head on the prompt's last position only: copy that row out, project it.
            Map<String, Tensor> last = chunkBuffers.getLast();
            Tensor hidden = last.get(ModelGraphBuilder.HIDDEN);
            lastHidden = Tensor.allocate(arena, "last_hidden", DType.F32, Shape.of(1, config.dim()));
            logits = Tensor.allocate(arena, "logits", DType.F32, Shape.of(1, config.vocabSize()));
            SubgraphBuilder hb = new SubgraphBuilder("lm_head");
            Value in = hb.input(ModelGraphBuilder.HIDDEN, DType.F32, lastHidden.shape());
            Value out = hb.value(ModelGraphBuilder.LOGITS, DType.F32, logits.shape());
            hb.add(new Op.Linear(in, outputWeights, out));
            hb.output(out);
            CompiledGraph head = cpu.compile(hb.build());
            compiled.add(head);
            Map<Value, Tensor> headBindings = Map.of(in, lastHidden, out, logits);
            int lastRow = promptTokens - 1 - (chunks - 1) * chunkRows;
            long rowBytes = (long) config.dim() * Float.BYTES;
            int headTask = b.add(chunks - 1, config.layers() - 1, TaskKind.LOGITS, NO_WORKLOAD);
            jobs.add(new Job(CPU, "lm_head", () -> {
                MemorySegment.copy(hidden.data(), lastRow * rowBytes, lastHidden.data(), 0, rowBytes);
                head.execute(headBindings);
            }));
            b.dependency(headTask - 1, headTask);
            graph = b.build();
            if (!"lm_head".equals(jobs.getLast().stage()) || graph.predecessorCount(headTask) != 1) {
                throw new IllegalStateException("the LM head must follow the final norm of the last chunk");
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Tokens are written per run; positions are fixed by the chunk (padding rows get -1, as masked). */
    private void fillPositions(Map<String, Tensor> buffers, int chunk) {
        Tensor positions = buffers.get(ModelGraphBuilder.POSITIONS);
        for (int i = 0; i < chunkRows; i++) {
            int p = chunk * chunkRows + i;
            positions.setInt(i, p < promptTokens ? p : -1);
        }
    }

    /** Writes the prompt into the chunks' token inputs; call before each run. */
    public void setPrompt(int[] tokens) {
        if (tokens.length != promptTokens) {
            throw new IllegalArgumentException("this prefill was compiled for " + promptTokens + " tokens, got "
                    + tokens.length);
        }
        for (int c = 0; c < chunks; c++) {
            Tensor t = chunkBuffers.get(c).get(ModelGraphBuilder.TOKENS);
            for (int i = 0; i < chunkRows; i++) {
                int p = c * chunkRows + i;
                t.setInt(i, p < promptTokens ? tokens[p] : 0);
            }
        }
    }

    private static int layerOf(String stage) {
        if (stage.startsWith("blk.")) {
            return Integer.parseInt(stage.substring(4, stage.indexOf('.', 4)));
        }
        return 0;
    }

    private static TaskKind kindOf(String stage, int device) {
        String step = stage.startsWith("blk.") ? stage.substring(stage.indexOf('.', 4) + 1) : stage;
        return switch (step) {
            case "qkv" -> device == NPU ? TaskKind.QKV : TaskKind.QKV_SHADOW;
            case "attn" -> TaskKind.ATTENTION;
            case "o", "gate_up", "down" -> device == NPU ? TaskKind.OUTPUT_FFN : TaskKind.OUTPUT_FFN_SHADOW;
            default -> TaskKind.FLOAT_GLUE;
        };
    }

    public TaskGraph graph() {
        return graph;
    }

    /**
     * A placeholder cost table before anything was measured: one millisecond per task on its own
     * device. Enough for in-order runs and for a first run whose trace gives the real costs
     * ({@link PrefillTrace#measuredCosts()}).
     */
    public CostTable uniformCosts() {
        double[][] s = new double[jobs.size()][2];
        for (int t = 0; t < jobs.size(); t++) {
            s[t][0] = Double.POSITIVE_INFINITY;
            s[t][1] = Double.POSITIVE_INFINITY;
            s[t][jobs.get(t).device()] = 1e-3;
        }
        return CostTable.of(PrefillTrace.DEVICES, s);
    }

    /** The task with id {@code task}. */
    public Job job(int task) {
        return jobs.get(task);
    }

    public int chunks() {
        return chunks;
    }

    public int chunkRows() {
        return chunkRows;
    }

    public int promptTokens() {
        return promptTokens;
    }

    public ModelConfig config() {
        return config;
    }

    /** Logits of the prompt's last position after a run (a fresh array). */
    public float[] lastLogits() {
        return logits.toFloatArray();
    }

    @Override
    public void close() {
        compiled.forEach(CompiledGraph::close);
        compiled.clear();
        arena.close();
    }
}
