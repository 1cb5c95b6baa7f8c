package io.llmnpu.runtime.engine;

import io.llmnpu.runtime.graph.Architectures;
import io.llmnpu.runtime.graph.ModelGraphBuilder;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.api.backend.StateResidency;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelWeights;
import io.llmnpu.scheduler.ChunkDag;
import io.llmnpu.scheduler.CostTable;
import io.llmnpu.scheduler.Placement;
import io.llmnpu.scheduler.Policies;
import io.llmnpu.scheduler.SchedulingPolicy;
import io.llmnpu.scheduler.SubgraphPlacer;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The execution engine: runs a model's graphs on the devices of a {@link DevicePlan}, for prompts and
 * for decode steps alike.
 *
 * <p>A run takes tokens at some positions of a KV cache. {@link ChunkPlanner} cuts them into chunks of
 * one static row count (a single token is one chunk of one row: a decode step). The body graph for that
 * row count, float or (for prompts, when an NPU is there and a {@link GraphRewrite} is given) rewritten
 * with INT8 linear layers, is placed over the devices by their affinities ({@link SubgraphPlacer}) and
 * instantiated once per chunk as a task DAG ({@link ChunkDag}): segments on NPUs, GPUs and CPUs, one
 * worker per device, ordered out of order by the scheduling policy (critical path unless told
 * otherwise). The head computes the logits the caller needs. Placements, compiled graphs and the
 * tensors between segments are built once per row count and reused by every later run.
 *
 * <p>Every run is one engine step under the plan's lock. Decode reads the KV cache prefill wrote, in
 * place; where a device keeps its own copy of the cache ({@link StateResidency#DEVICE}) the engine
 * tells it when another device wrote the cache. When a device fails mid-run, or its backend is
 * unplugged, the plan drops it and the run goes on from its first unfinished chunk on the devices that
 * remain (an NPU that leaves turns the rest of the prompt into float work).
 */
public final class ForwardPass implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ForwardPass.class);
    /** The policy runs use unless told otherwise. */
    public static final String DEFAULT_POLICY = "critical-path";
    private static final long SAVE_INTERVAL_NANOS = 30_000_000_000L;

    /**
     * How prompts may use an NPU.
     *
     * @param rewrite the body rewrite for INT8 NPUs (from calibration)
     * @param backend the NPU backend to use, or null for any device of kind NPU
     */
    public record NpuPath(GraphRewrite rewrite, String backend) {
        public NpuPath {
            Objects.requireNonNull(rewrite, "rewrite");
        }
    }

    /**
     * One run.
     *
     * @param cache     the KV cache the tokens go into
     * @param tokens    token ids
     * @param startPos  position of the first token
     * @param heads     which chunks get logits
     * @param allowNpu  whether the NPU path may run it (prompts; decode steps stay in float)
     * @param policy    scheduling policy, or null for the engine's
     * @param costs     task costs for the policy instead of the devices' estimates, or null (must fit the DAG)
     * @param sink      receives each chunk's values after the run, or null
     */
    public record Request(KvCache cache, int[] tokens, int startPos, ChunkDag.Heads heads, boolean allowNpu,
                          SchedulingPolicy policy, CostTable costs, ChunkSink sink) {
        public Request {
            Objects.requireNonNull(cache, "cache");
            Objects.requireNonNull(heads, "heads");
            tokens = tokens.clone();
        }

        /** Feeds {@code tokens} and wants the logits after the last one; prompts may use the NPU. */
        public static Request of(KvCache cache, int[] tokens, int startPos) {
            return new Request(cache, tokens, startPos, ChunkDag.Heads.LAST_CHUNK, tokens.length > 1, null, null, null);
        }

        public Request withPolicy(SchedulingPolicy p) {
            return new Request(cache, tokens, startPos, heads, allowNpu, p, costs, sink);
        }

        public Request withCosts(CostTable c) {
            return new Request(cache, tokens, startPos, heads, allowNpu, policy, c, sink);
        }

        public Request withNpu(boolean allowed) {
            return new Request(cache, tokens, startPos, heads, allowed, policy, costs, sink);
        }

        public Request withHeads(ChunkDag.Heads h, ChunkSink s) {
            return new Request(cache, tokens, startPos, h, allowNpu, policy, costs, s);
        }
    }

    /** Reads a chunk's values after a run: body outputs and, when the chunk had a head, {@code logits}. */
    @FunctionalInterface
    public interface ChunkSink {
        void accept(ChunkPlanner.Chunk chunk, Function<String, Tensor> values);
    }

    /**
     * What a run did.
     *
     * @param lastLogits logits after the last token (with {@link ChunkDag.Heads#LAST_CHUNK}), else null
     * @param trace      the tasks of the last attempt: where and when each ran
     * @param path       {@code float}, or the rewrite's name when the NPU path ran the last attempt
     * @param dag        the task DAG of the last attempt
     * @param failovers  devices that failed or left during the run
     * @param seconds    wall time of the whole run, failovers included
     */
    public record Result(float[] lastLogits, RunTrace trace, String path, ChunkDag dag, int failovers, double seconds) {
        /** Whether INT8 linear layers ran on an NPU path. */
        public boolean usedNpu() {
            return !path.equals(FLOAT);
        }

        /** The run as a Gantt chart (SVG): one lane per device, one bar per task as it really ran. */
        public String ganttSvg(String what) {
            String subtitle = String.format(java.util.Locale.ROOT, "%s, %s, %d tasks, %.1f ms%s", what, path,
                    trace.graph().size(), trace.seconds() * 1e3, failovers > 0 ? ", after " + failovers + " failover(s)" : "");
            return new io.llmnpu.scheduler.GanttSvg().render(trace.toSchedule(), subtitle);
        }
    }

    static final String FLOAT = "float";

    private record Key(boolean npu, int rows, ChunkDag.Heads heads) {
    }

    private final ModelConfig config;
    private final ModelGraphBuilder source;
    private final DevicePlan plan;
    private final boolean ownsPlan;
    private final ChunkPlanner planner;
    private final int cacheRows;
    private final NpuPath npu;
    private final SchedulingPolicy policy;
    private final SubgraphPlacer placer = new SubgraphPlacer();
    private final Map<Key, PlacedGraphs> placed = new HashMap<>();
    private volatile String decodeDevice = "(none)";
    private String lastPath;
    private boolean measuredOnce;
    private long lastSave;
    private volatile boolean closed;

    /**
     * @param source    the model's graphs
     * @param plan      the devices; the caller keeps it and closes it after this
     * @param planner   how prompts are chunked
     * @param cacheRows positions of the KV caches the graphs run against
     * @param npu       how prompts may use an NPU, or null for float only
     * @param policy    the scheduling policy, or null for {@value #DEFAULT_POLICY}
     */
    public ForwardPass(ModelConfig config, ModelGraphBuilder source, DevicePlan plan, ChunkPlanner planner, int cacheRows,
                       NpuPath npu, SchedulingPolicy policy) {
        this(config, source, plan, false, planner, cacheRows, npu, policy);
    }

    /** Float only, on the devices of {@code plan}, which the caller keeps. */
    public ForwardPass(ModelConfig config, ModelWeights weights, DevicePlan plan, ChunkPlanner planner, int cacheRows) {
        this(config, Architectures.graphs(config, weights), plan, false, planner, cacheRows, null, null);
    }

    /** Float only, on {@code device} alone; the caller keeps ownership of its backend. */
    public ForwardPass(ModelConfig config, ModelWeights weights, Device device, ChunkPlanner planner, int cacheRows) {
        this(config, Architectures.graphs(config, weights), DevicePlan.of(device), true, planner, cacheRows, null, null);
    }

    private ForwardPass(ModelConfig config, ModelGraphBuilder source, DevicePlan plan, boolean ownsPlan, ChunkPlanner planner,
                        int cacheRows, NpuPath npu, SchedulingPolicy policy) {
        this.config = config;
        this.source = source;
        this.plan = plan;
        this.ownsPlan = ownsPlan;
        this.planner = planner;
        this.cacheRows = cacheRows;
        this.npu = npu;
        this.policy = policy != null ? policy : Policies.byName(DEFAULT_POLICY);
    }

    /** The graphs devices are ranked by: a decode step's body and head. */
    public static List<Subgraph> workload(ModelConfig config, ModelWeights weights, int cacheRows) {
        ModelGraphBuilder graphs = Architectures.graphs(config, weights);
        return List.of(graphs.body(1, cacheRows), graphs.head(1));
    }

    public ModelConfig config() {
        return config;
    }

    public ChunkPlanner planner() {
        return planner;
    }

    public DevicePlan plan() {
        return plan;
    }

    public int cacheRows() {
        return cacheRows;
    }

    /** The name of the NPU path prompts may take, or null when they run in float only. */
    public String npuPath() {
        return npu == null ? null : npu.rewrite().name();
    }

    /**
     * The device that runs most of a decode step, e.g. {@code cpu/cpu0}: the one of the last step, or where
     * the next would run if that device has left since.
     */
    public String decodeDevice() {
        String d = decodeDevice;
        if (!closed && !plan.devices().contains(d)) {
            try {
                prepare(1);
            } catch (RuntimeException e) {
                log.debug("cannot place the decode graphs now", e);
            }
            d = decodeDevice;
        }
        return d;
    }

    /** Places and compiles the float graphs for {@code rows} now rather than at first use (start-up warm-up). */
    public void prepare(int rows) {
        plan.step(step -> {
            while (true) {
                PlacedGraphs pg = placed(step, rows, ChunkDag.Heads.LAST_CHUNK, false);
                if (compileAll(step, pg)) {
                    if (rows == 1) {
                        decodeDevice = step.name(pg.body.mainDevice());
                    }
                    return null;
                }
            }
        });
    }

    /**
     * Feeds {@code tokens} at positions {@code startPos..} into the cache and returns the logits after the
     * last one. A single token runs the one-row decode graph; more run in chunks, on the NPU path if there is one.
     */
    public float[] forward(KvCache cache, int[] tokens, int startPos) {
        return run(Request.of(cache, tokens, startPos)).lastLogits();
    }

    /** Runs {@code request} as one engine step. */
    public Result run(Request request) {
        int n = request.tokens().length;
        if (n == 0) {
            throw new IllegalArgumentException("nothing to run: no tokens");
        }
        if (request.cache().capacity() != cacheRows) {
            throw new IllegalArgumentException("KV cache holds " + request.cache().capacity() + " rows, graphs expect "
                    + cacheRows);
        }
        if (request.startPos() < 0 || request.startPos() + n > cacheRows) {
            throw new IllegalArgumentException("positions " + request.startPos() + ".." + (request.startPos() + n - 1)
                    + " do not fit the context of " + cacheRows + " tokens");
        }
        List<ChunkPlanner.Chunk> chunks = n == 1 ? List.of(new ChunkPlanner.Chunk(0, 1, 1)) : planner.plan(n);
        return plan.step(step -> {
            if (closed) {                 // checked under the engine lock: close() waits for the step in flight
                throw new IllegalStateException("the runtime is closed");
            }
            return execute(step, request, chunks);
        });
    }

    private Result execute(DevicePlan.Step step, Request r, List<ChunkPlanner.Chunk> chunks) {
        long t0 = System.nanoTime();
        int rows = chunks.getFirst().rows();
        int first = 0;
        int failovers = 0;
        PlacedGraphs[] ranBy = new PlacedGraphs[chunks.size()];
        while (true) {
            PlacedGraphs pg = placed(step, rows, r.heads(), r.allowNpu());
            if (!compileAll(step, pg)) {
                failovers++;
                continue;
            }
            int count = chunks.size() - first;
            ChunkDag dag = pg.dag(count);
            fillInputs(pg, r, chunks, first);
            Runnable[] bodies = new Runnable[dag.graph().size()];
            for (int t = 0; t < bodies.length; t++) {
                bodies[t] = task(step, pg, dag.piece(t), r, chunks, first);
            }
            CostTable costs = r.costs() != null && r.costs().taskCount() == dag.graph().size() && first == 0
                    ? r.costs() : dag.costs();
            SchedulingPolicy p = r.policy() != null ? r.policy() : policy;
            DagRunner.Outcome o = DagRunner.run(dag.graph(), dag.processors(), costs, p, bodies, step::revoked);
            if (o.ok()) {
                for (int c = first; c < chunks.size(); c++) {
                    ranBy[c] = pg;
                }
                if (rows == 1) {
                    decodeDevice = step.name(pg.body.mainDevice());
                }
                deliver(r, chunks, ranBy);
                float[] logits = r.heads() == ChunkDag.Heads.LAST_CHUNK
                        ? pg.chunk(chunks.size() - 1).byName(ModelGraphBuilder.LOGITS).toFloatArray() : null;
                Result result = new Result(logits, o.trace(), pg.npu ? npu.rewrite().name() : FLOAT, dag, failovers,
                        (System.nanoTime() - t0) * 1e-9);
                learn(step, pg, dag, o.trace());
                return result;
            }
            if (o.failedDevice() < 0) {
                throwUnchecked(o.failure());
            }
            int firstUnfinished = count;
            for (int t = 0; t < dag.graph().size(); t++) {
                if (!o.finished().get(t)) {
                    firstUnfinished = Math.min(firstUnfinished, dag.piece(t).chunk());
                }
            }
            for (int c = first; c < first + firstUnfinished; c++) {
                ranBy[c] = pg;
            }
            first += firstUnfinished;
            step.fail(o.failedDevice(), pg.body.graph().name() + " (chunk " + (first + 1) + " of " + chunks.size() + ")",
                    o.failure());
            failovers++;
        }
    }

    /** Compiles every segment on its device; false if a device failed to (it has been dropped: place again). */
    private boolean compileAll(DevicePlan.Step step, PlacedGraphs pg) {
        if (pg.compiled) {
            return true;
        }
        long t0 = System.nanoTime();
        for (Placement p : pg.head == null ? List.of(pg.body) : List.of(pg.head, pg.body)) {
            for (Placement.Segment s : p.segments()) {
                try {
                    step.compiled(s.device(), s.graph());
                } catch (RuntimeException | LinkageError e) {
                    step.fail(s.device(), s.graph().name(), e);
                    return false;
                }
            }
        }
        pg.compiled = true;
        log.debug("compiled {} in {} ms", pg.body.graph().name(), (System.nanoTime() - t0) / 1_000_000);
        return true;
    }

    /** The placement for this run, placed anew when the devices changed. */
    private PlacedGraphs placed(DevicePlan.Step step, int rows, ChunkDag.Heads heads, boolean allowNpu) {
        if (placed.values().stream().anyMatch(pg -> pg.version != step.version())) {
            dropPlacements(step);
        }
        List<Placement.Candidate> candidates = step.candidates();
        boolean wantNpu = allowNpu && npu != null && npuPresent(candidates);
        PlacedGraphs pg = placed.get(new Key(wantNpu, rows, heads));
        if (pg != null) {
            notePath(pg, step);
            return pg;
        }
        if (wantNpu) {
            try {
                pg = place(step, int8OnNpuOnly(candidates), npu.rewrite().rewrite(source.body(rows, cacheRows)), rows,
                        heads, true);
            } catch (SubgraphPlacer.UnplaceableException e) {
                log.info("the NPU path cannot run here ({}); prompts run in float", e.getMessage());
            }
        }
        if (pg == null) {
            pg = place(step, candidates, source.body(rows, cacheRows), rows, heads, false);
        }
        placed.put(new Key(wantNpu, rows, heads), pg);
        notePath(pg, step);
        return pg;
    }

    private PlacedGraphs place(DevicePlan.Step step, List<Placement.Candidate> candidates, Subgraph body, int rows,
                               ChunkDag.Heads heads, boolean npuPath) {
        long t0 = System.nanoTime();
        Placement b = placer.place(body, candidates);
        Placement h = heads == ChunkDag.Heads.NONE ? null
                : placer.place(source.head(heads == ChunkDag.Heads.EVERY_CHUNK ? rows : 1), candidates);
        if (log.isDebugEnabled()) {
            List<String> where = new ArrayList<>();
            double[] per = b.secondsPerDevice();
            for (int d = 0; d < per.length; d++) {
                if (per[d] > 0) {
                    where.add(String.format(java.util.Locale.ROOT, "%s %.3f ms", step.name(d), per[d] * 1e3));
                }
            }
            log.debug("placed {} ({} segments) in {} ms: {}", body.name(), b.segments().size(),
                    (System.nanoTime() - t0) / 1_000_000, where);
        }
        return new PlacedGraphs(b, h, heads, npuPath, step.version(), rows);
    }

    private boolean npuPresent(List<Placement.Candidate> candidates) {
        return candidates.stream().anyMatch(this::isNpu);
    }

    /** Whether {@code c} is the NPU path's device: the named backend's, or (by default) any of kind NPU. */
    private boolean isNpu(Placement.Candidate c) {
        return npu.backend() == null ? c.device().kind() == DeviceKind.NPU
                : c.name().toLowerCase(java.util.Locale.ROOT).startsWith(npu.backend().toLowerCase(java.util.Locale.ROOT) + "/");
    }

    /**
     * The candidates as the placer sees them for the NPU path: the INT8 linear layers go to the NPU path's device
     * only (another device with int8 units, such as cpu-native, would otherwise take them by cost), everything else
     * wherever it runs best.
     */
    private List<Placement.Candidate> int8OnNpuOnly(List<Placement.Candidate> candidates) {
        List<Placement.Candidate> out = new ArrayList<>();
        for (Placement.Candidate c : candidates) {
            out.add(isNpu(c) ? c : new Placement.Candidate(c.name(), withoutInt8Linears(c.device()), c.preferred(),
                    c.launchSeconds()));
        }
        return out;
    }

    /** {@code device} as the placer sees it with its INT8 linear layers refused. */
    private static Device withoutInt8Linears(Device device) {
        return new PlacementView(device, op -> op instanceof Op.QuantizedLinear
                ? io.llmnpu.api.backend.Affinity.unsupported() : device.affinity(op));
    }

    /** Logs once whenever prompts change path (NPU or float) or devices. */
    private void notePath(PlacedGraphs pg, DevicePlan.Step step) {
        if (pg.rows == 1 || npu == null) {
            return;
        }
        String path = pg.npu ? npu.rewrite().name() + " on " + usedDevices(pg, step) : "float";
        if (!path.equals(lastPath)) {
            if (pg.npu) {
                log.info("prompts run on the NPU path: {}", path);
            } else if (lastPath != null) {
                log.info("no NPU device now: prompts run in float on {}", usedDevices(pg, step));
            }
            lastPath = path;
        }
    }

    private static String usedDevices(PlacedGraphs pg, DevicePlan.Step step) {
        List<String> names = new ArrayList<>();
        for (int d : pg.body.devicesUsed()) {
            names.add(step.name(d));
        }
        return String.join(" + ", names);
    }

    /** Writes tokens and positions of chunks {@code first..} (padding rows get position -1, which ops ignore). */
    private void fillInputs(PlacedGraphs pg, Request r, List<ChunkPlanner.Chunk> chunks, int first) {
        for (int c = first; c < chunks.size(); c++) {
            ChunkPlanner.Chunk chunk = chunks.get(c);
            PlacedGraphs.ChunkTensors ct = pg.chunk(c);
            for (int i = 0; i < chunk.rows(); i++) {
                boolean real = i < chunk.length();
                ct.tokens.setInt(i, real ? r.tokens()[chunk.start() + i] : 0);
                ct.positions.setInt(i, real ? r.startPos() + chunk.start() + i : -1);
            }
        }
    }

    /** What task {@code piece} does: bind its tensors, keep device copies of the cache coherent, run it. */
    private Runnable task(DevicePlan.Step step, PlacedGraphs pg, ChunkDag.Piece piece, Request r,
                          List<ChunkPlanner.Chunk> chunks, int first) {
        int c = first + piece.chunk();
        PlacedGraphs.ChunkTensors ct = pg.chunk(c);
        Placement.Segment segment = piece.segment();
        Subgraph graph = segment.graph();
        var compiled = step.compiled(segment.device(), graph);
        Device device = step.device(segment.device());
        Map<Value, Tensor> bindings = new HashMap<>();
        List<Value> stateIn = new ArrayList<>();
        for (Value v : graph.inputs()) {
            bindings.put(v, tensorFor(pg, ct, r, v, piece.head()));
            if (!piece.head() && pg.body.state().contains(v)) {
                stateIn.add(v);
            }
        }
        for (Value v : graph.outputs()) {
            bindings.put(v, tensorFor(pg, ct, r, v, piece.head()));
        }
        List<String> written = new ArrayList<>();
        for (Op op : graph.ops()) {
            op.updatedInPlace().forEach(v -> written.add(v.name()));
        }
        boolean copyLastRow = piece.head() && ct.headInput != null
                && graph.inputs().stream().anyMatch(v -> pg.head.graph().inputs().contains(v));
        int lastRow = chunks.get(c).length() - 1;
        KvCache cache = r.cache();
        return () -> {
            if (copyLastRow) {
                Tensor hidden = ct.byName(ModelGraphBuilder.HIDDEN);
                long rowBytes = (long) hidden.shape().cols() * Float.BYTES;
                MemorySegment.copy(hidden.data(), lastRow * rowBytes, ct.headInput.data(), 0, rowBytes);
            }
            if (device.stateResidency() == StateResidency.DEVICE) {
                for (Value v : stateIn) {
                    Object last = cache.lastWriter(v.name());
                    if (last != null && last != device) {
                        device.stateChanged(bindings.get(v));
                    }
                }
            }
            compiled.execute(bindings);
            for (String name : written) {
                cache.wrote(name, device);
            }
        };
    }

    private static Tensor tensorFor(PlacedGraphs pg, PlacedGraphs.ChunkTensors ct, Request r, Value v, boolean head) {
        if (!head) {
            if (v.name().equals(ModelGraphBuilder.TOKENS) && pg.body.graph().inputs().contains(v)) {
                return ct.tokens;
            }
            if (v.name().equals(ModelGraphBuilder.POSITIONS) && pg.body.graph().inputs().contains(v)) {
                return ct.positions;
            }
            if (pg.body.state().contains(v)) {
                return r.cache().tensor(v.name());
            }
        }
        Tensor t = ct.value(v);
        if (t == null) {
            throw new IllegalStateException("no tensor for " + v + " in " + pg.body.graph().name());
        }
        return t;
    }

    /**
     * Feeds each task's measured time to the cost book; after the first prompt that taught it, placements are
     * redone with the corrected costs. A placement's first run teaches nothing: it pays for warming the JIT.
     */
    private void learn(DevicePlan.Step step, PlacedGraphs pg, ChunkDag dag, RunTrace trace) {
        CostBook book = plan.costs();
        if (!book.learning() || pg.runs++ == 0) {
            return;
        }
        for (int t = 0; t < dag.graph().size(); t++) {
            Placement.Segment s = dag.piece(t).segment();
            book.record(step.name(s.device()), pg.rawByKind(s, step.device(s.device())),
                    (trace.finish()[t] - trace.begin()[t]) * 1e-9);
        }
        if (pg.rows > 1) {
            long now = System.nanoTime();
            if (!measuredOnce) {
                measuredOnce = true;
                dropPlacements(step);
                book.save();
                lastSave = now;
            } else if (now - lastSave > SAVE_INTERVAL_NANOS) {
                book.save();
                lastSave = now;
            }
        }
    }

    /** Forgets every placement: their compiled graphs and tensors are freed, the next run places anew. */
    private void dropPlacements(DevicePlan.Step step) {
        placed.values().forEach(pg -> {
            step.release(pg.graphs());
            pg.close();
        });
        placed.clear();
    }

    /** Hands each chunk's values to the request's sink, from whichever placement ran the chunk. */
    private static void deliver(Request r, List<ChunkPlanner.Chunk> chunks, PlacedGraphs[] ranBy) {
        if (r.sink() == null) {
            return;
        }
        for (int c = 0; c < chunks.size(); c++) {
            PlacedGraphs.ChunkTensors ct = ranBy[c].chunk(c);
            r.sink().accept(chunks.get(c), ct::byName);
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            plan.step(step -> {
                dropPlacements(step);
                return null;
            });
        } catch (IllegalStateException planClosed) {
            // the plan went first and took the compiled graphs with it
            placed.values().forEach(PlacedGraphs::close);
            placed.clear();
        }
        if (ownsPlan) {
            plan.close();
        }
    }

    @SuppressWarnings("unchecked")
    private static <T extends Throwable> void throwUnchecked(Throwable t) throws T {
        throw (T) t;
    }
}
