package io.llmnpu.tck;

import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.RopeStyle;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.tck.skip.BackendAssumptions;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestReporter;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.Isolated;
import org.opentest4j.AssertionFailedError;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The conformance suite for llmnpu device backends. A backend proves it implements the SPI correctly
 * by extending this class in its own tests and naming its provider:
 *
 * <pre>{@code
 * class MyNpuConformanceTest extends BackendConformanceSuite {
 *     @Override
 *     protected BackendProvider provider() {
 *         return new MyNpuBackendProvider();
 *     }
 * }
 * }</pre>
 *
 * <p>The suite creates the backend and checks every device it lists, using nothing but the SPI:
 * <ul>
 *   <li>every op the device supports (by its {@link Device#affinity}) against a double-precision
 *       reference, over seeded random shapes and all weight types, including the NPU's INT8
 *       QuantizedLinear (held to its integer semantics) and the float halves of shadow outlier
 *       execution (OutlierShadow, ShadowMerge); cases the device reports UNSUPPORTED are skipped and
 *       listed;</li>
 *   <li>a one-layer transformer built from all ops, a prompt chunk then a decode step, against the
 *       reference composition;</li>
 *   <li>static shapes: a binding of the wrong shape or type, or a missing one, is refused with a
 *       {@link BackendException}, and a new shape takes a new compile;</li>
 *   <li>compiling an op the device reports UNSUPPORTED throws {@link BackendException};</li>
 *   <li>two compiled copies of a graph run on two threads at once give the sequential results;</li>
 *   <li>many compile/execute/close cycles leak neither threads nor memory, and a closed compiled
 *       graph refuses to run;</li>
 *   <li>closing the backend makes its compiled graphs refuse to run and stops its threads.</li>
 * </ul>
 * The contract checks run on the first probe graph the device supports (a float chain, a Linear, an
 * elementwise op, or an INT8 QuantizedLinear for an NPU), and are skipped with a reason where it
 * supports none. Each case is reported by name, e.g. {@code cpu0 Linear Q4_0 [7x96]->[7x33]}. Override
 * {@link #options()}, {@link #tolerances()}, {@link #seed()} or {@link #lifetimeCycles()} to adapt it.
 */
@Isolated("thread and memory checks count the whole process")
@Execution(ExecutionMode.SAME_THREAD)
public abstract class BackendConformanceSuite {
    private static final Logger LOG = LoggerFactory.getLogger(BackendConformanceSuite.class);

    /** Rows, width and output width of the graph the static-shape and closing checks run. */
    private static final int SMALL_ROWS = 8;
    private static final int SMALL_WIDTH = 64;
    private static final int SMALL_OUT = 16;
    /** The concurrency graph: big enough that two executions overlap in time. */
    private static final int CONCURRENT_WIDTH = 256;
    private static final int CONCURRENT_OUT = 64;
    private static final int CONCURRENT_ROUNDS = 20;
    /**
     * The lifetime graph: 16 x 2048 activations make three 128 KiB intermediates, so a backend that
     * keeps its scratch after close() grows by about 375 MiB over 1,000 cycles.
     */
    private static final int LIFETIME_ROWS = 16;
    private static final int LIFETIME_WIDTH = 2048;
    private static final int LIFETIME_OUT = 16;
    private static final int LIFETIME_WARMUP = 50;
    /** Threads a backend may add after warm-up (an elastic pool settling), far below one per cycle. */
    private static final int LIFETIME_THREAD_SLACK = 2;
    /** Growth of resident memory outside the heap allowed over all cycles (JIT code, allocator caches). */
    private static final long LIFETIME_MEMORY_SLACK = 128L << 20;
    private static final long THREAD_STOP_TIMEOUT_MILLIS = 5_000;

    private BackendProvider provider;
    private Backend backend;

    /** The provider of the backend under test. Called once per test method. */
    protected abstract BackendProvider provider();

    /** Options the backend is created with; two worker threads by default, so pools are exercised but small. */
    protected BackendOptions options() {
        return new BackendOptions(2);
    }

    /** How close results must be to the reference; see {@link Tolerances#standard()}. */
    protected Tolerances tolerances() {
        return Tolerances.standard();
    }

    /** Seed of every random shape and value; a failure reproduces with the same seed and case name. */
    protected long seed() {
        return 0x11A5_EEDL;
    }

    /**
     * Compile/execute/close cycles of the lifetime check. Lower it only for devices whose compile takes
     * seconds; fewer cycles make a small per-cycle leak harder to see.
     */
    protected int lifetimeCycles() {
        return 1000;
    }

    @BeforeEach
    public final void requireUsableBackend() {
        provider = provider();
        if (provider == null) {
            throw new AssertionFailedError("provider() returned null");
        }
        BackendAssumptions.assumeAvailable(provider);
    }

    @AfterEach
    public final void closeBackend() {
        if (backend != null) {
            Backend b = backend;
            backend = null;
            b.close();
        }
    }

    @Test
    public void backendDescribesItsDevices() {
        Backend b = backend();
        if (b.name() == null || b.name().isBlank()) {
            throw new AssertionFailedError("Backend.name() is empty");
        }
        Set<String> names = new HashSet<>();
        for (Device d : devices()) {
            if (d.name() == null || d.name().isBlank()) {
                throw new AssertionFailedError("a device of " + b.name() + " has no name");
            }
            if (!names.add(d.name())) {
                throw new AssertionFailedError("two devices of " + b.name() + " are called " + d.name()
                        + "; names must be unique within a backend");
            }
            if (d.kind() == null || d.capabilities() == null) {
                throw new AssertionFailedError(d.name() + " reports a null kind or capability set");
            }
            if (d.memoryBytes() <= 0) {
                throw new AssertionFailedError(d.name() + " reports " + d.memoryBytes() + " bytes of memory");
            }
        }
    }

    @TestFactory
    public Stream<DynamicTest> opsMatchReference(TestReporter reporter) {
        List<OpCase> cases = OpCases.all(new Random(seed()));
        List<DynamicTest> tests = new ArrayList<>();
        for (Device device : devices()) {
            List<String> skipped = new ArrayList<>();
            for (OpCase c : cases) {
                String name = device.name() + " " + c.label();
                tests.add(dynamicTest(name, () -> runOpCase(device, c, name, skipped)));
            }
            tests.add(dynamicTest(device.name() + " op support summary",
                    () -> supportSummary(device, cases.size(), skipped, reporter)));
        }
        return tests.stream();
    }

    private void runOpCase(Device device, OpCase c, String name, List<String> skipped) {
        try (Arena arena = Arena.ofShared()) {
            RandomTensors data = new RandomTensors(arena, caseRandom(c.label()));
            OpCase.Data built = c.builder().build(data);
            List<Op> unsupported = GraphCheck.unsupportedOps(device, built.graph());
            if (!unsupported.isEmpty()) {
                skipped.add(c.label());
                Assumptions.abort(device.name() + " reports " + GraphCheck.opNames(unsupported)
                        + " UNSUPPORTED at these shapes and types; skipped");
            }
            GraphCheck.runAndVerify(context(name), device, built.graph(), built.inputs(), data,
                    c.bound().of(tolerances()));
        }
    }

    private static void supportSummary(Device device, int total, List<String> skipped, TestReporter reporter) {
        if (skipped.size() == total) {
            throw new AssertionFailedError(device.name() + " reports all " + total
                    + " op cases UNSUPPORTED; a device must run at least one op");
        }
        String summary = device.name() + " ran " + (total - skipped.size()) + " of " + total + " op cases"
                + (skipped.isEmpty() ? "" : "; skipped as UNSUPPORTED: " + String.join("; ", skipped));
        LOG.info(summary);
        reporter.publishEntry("op support " + device.name(), summary);
    }

    /** Weight type, RoPE style and rotary dimensions of one transformer-block check. */
    private record BlockVariant(DType weightType, RopeStyle style, int rotaryDims) {
        String label() {
            return "transformer block " + weightType + " " + style + " rotary " + rotaryDims
                    + ": prompt [5 rows from pos 2, 1 padding] then decode at pos 6";
        }
    }

    @TestFactory
    public Stream<DynamicTest> transformerBlockMatchesReference() {
        List<BlockVariant> variants = List.of(
                new BlockVariant(DType.F32, RopeStyle.ADJACENT, TransformerBlock.HEAD_DIM),
                new BlockVariant(DType.F16, RopeStyle.NEOX, TransformerBlock.HEAD_DIM),
                new BlockVariant(DType.Q8_0, RopeStyle.NEOX, TransformerBlock.HEAD_DIM / 2),
                new BlockVariant(DType.Q4_0, RopeStyle.ADJACENT, TransformerBlock.HEAD_DIM / 2));
        List<DynamicTest> tests = new ArrayList<>();
        for (Device device : devices()) {
            for (BlockVariant v : variants) {
                String name = device.name() + " " + v.label();
                tests.add(dynamicTest(name, () -> runBlock(device, v, name)));
            }
        }
        return tests.stream();
    }

    /**
     * A prompt chunk of 4 tokens and one padding row at positions 2..5 over a cache holding positions 0
     * and 1, then one decode token at position 6 through a separately compiled one-row graph that sees
     * the cache the first graph wrote. The reference runs the same two steps on its own caches.
     */
    private void runBlock(Device device, BlockVariant v, String name) {
        try (Arena arena = Arena.ofShared()) {
            RandomTensors data = new RandomTensors(arena, caseRandom(v.label()));
            TransformerBlock block = new TransformerBlock(data, v.weightType(), v.style(), v.rotaryDims());
            Subgraph prompt = block.build(5, 3);
            Subgraph decode = block.build(1, 0);
            List<Op> unsupported = new ArrayList<>(GraphCheck.unsupportedOps(device, prompt));
            unsupported.addAll(GraphCheck.unsupportedOps(device, decode));
            if (!unsupported.isEmpty()) {
                Assumptions.abort(device.name() + " reports " + GraphCheck.opNames(unsupported) + " UNSUPPORTED; skipped");
            }
            Tolerances.Bound bound = tolerances().forComposite(v.weightType());
            int kvDim = TransformerBlock.KV_HEADS * TransformerBlock.HEAD_DIM;
            Tensor kCache = OpCases.cache(data, "cache_k", TransformerBlock.CACHE_ROWS, kvDim, 2);
            Tensor vCache = OpCases.cache(data, "cache_v", TransformerBlock.CACHE_ROWS, kvDim, 2);
            Random r = data.random();
            int[] promptTokens = {r.nextInt(TransformerBlock.VOCAB), r.nextInt(TransformerBlock.VOCAB),
                    r.nextInt(TransformerBlock.VOCAB), r.nextInt(TransformerBlock.VOCAB), 0};
            Map<Value, Tensor> promptInputs = Map.of(
                    prompt.inputs().get(0), data.ints("tokens", promptTokens),
                    prompt.inputs().get(1), data.ints("positions", new int[] {2, 3, 4, 5, -1}),
                    prompt.inputs().get(2), kCache,
                    prompt.inputs().get(3), vCache);
            GraphCheck.Outcome first;
            try (CompiledGraph compiled = GraphCheck.compile(context(name), device, prompt)) {
                first = GraphCheck.executeAndVerify(context(name + ", prompt step"), compiled, promptInputs,
                        Map.of(), data, bound);
            }
            Map<Value, double[]> referenceCaches = Map.of(
                    decode.inputs().get(2), first.expected().get(prompt.inputs().get(2)),
                    decode.inputs().get(3), first.expected().get(prompt.inputs().get(3)));
            Map<Value, Tensor> decodeInputs = Map.of(
                    decode.inputs().get(0), data.ints("token", new int[] {r.nextInt(TransformerBlock.VOCAB)}),
                    decode.inputs().get(1), data.ints("position", new int[] {6}),
                    decode.inputs().get(2), kCache,
                    decode.inputs().get(3), vCache);
            try (CompiledGraph compiled = GraphCheck.compile(context(name), device, decode)) {
                GraphCheck.executeAndVerify(context(name + ", decode step"), compiled, decodeInputs,
                        referenceCaches, data, bound);
            }
        }
    }

    /** One way of binding a graph wrongly. */
    private record BadBinding(String description, BindingChange change) {
    }

    @FunctionalInterface
    private interface BindingChange {
        void apply(Map<Value, Tensor> bindings, Value input, Value output, RandomTensors data);
    }

    @TestFactory
    public Stream<DynamicTest> staticShapesAreEnforced() {
        int rows = SMALL_ROWS;
        List<BadBinding> bad = List.of(
                new BadBinding("an input with one row too many", (b, x, y, d) ->
                        b.put(x, d.uniform("x", Shape.of(rows + 1, x.shape().cols()), 1.0))),
                new BadBinding("an input with one column too many", (b, x, y, d) ->
                        b.put(x, d.uniform("x", Shape.of(rows, x.shape().cols() + 1), 1.0))),
                new BadBinding("an input with rows and columns swapped", (b, x, y, d) ->
                        b.put(x, d.uniform("x", Shape.of(x.shape().cols(), rows), 1.0))),
                new BadBinding("an input flattened to one dimension", (b, x, y, d) ->
                        b.put(x, d.uniform("x", Shape.of(rows * x.shape().cols()), 1.0))),
                new BadBinding("an input of type F16 instead of F32", (b, x, y, d) ->
                        b.put(x, d.zeros("x", DType.F16, x.shape()))),
                new BadBinding("an input of type I32 instead of F32 (same byte size)", (b, x, y, d) ->
                        b.put(x, d.zeros("x", DType.I32, x.shape()))),
                new BadBinding("an output with one column too few", (b, x, y, d) ->
                        b.put(y, d.filled("y", DType.F32, Shape.of(rows, y.shape().cols() - 1), Float.NaN))),
                new BadBinding("an output with one row too many", (b, x, y, d) ->
                        b.put(y, d.filled("y", DType.F32, Shape.of(rows + 1, y.shape().cols()), Float.NaN))),
                new BadBinding("an output of type I32 instead of F32", (b, x, y, d) ->
                        b.put(y, d.zeros("y", DType.I32, y.shape()))),
                new BadBinding("no binding for the input", (b, x, y, d) -> b.remove(x)),
                new BadBinding("no binding for the output", (b, x, y, d) -> b.remove(y)));
        List<DynamicTest> tests = new ArrayList<>();
        for (Device device : devices()) {
            for (BadBinding change : bad) {
                String name = device.name() + " refuses to execute with " + change.description();
                tests.add(dynamicTest(name, () -> refuseBadBinding(device, change, name)));
            }
            String name = device.name() + " runs a new shape only through a new compile";
            tests.add(dynamicTest(name, () -> newShapeNeedsNewCompile(device, name)));
        }
        return tests.stream();
    }

    private void refuseBadBinding(Device device, BadBinding change, String name) throws InterruptedException {
        withProbe(device, name, SMALL_WIDTH, SMALL_OUT, SMALL_ROWS, (probe, data) -> {
            Subgraph graph = probe.build(SMALL_ROWS);
            Value x = ProbeGraph.input(graph);
            Value y = ProbeGraph.output(graph);
            Tolerances.Bound bound = bound(probe, graph);
            try (CompiledGraph compiled = GraphCheck.compile(context(name), device, graph)) {
                Map<Value, Tensor> bindings = new HashMap<>();
                bindings.put(x, data.uniform("x", x.shape(), 1.0));
                bindings.put(y, data.filled("y", DType.F32, y.shape(), Float.NaN));
                change.change().apply(bindings, x, y, data);
                Expect.backendException(device.name() + ": executing graph '" + graph.name() + "' (" + x + " -> " + y
                        + ") with " + change.description() + " " + describe(bindings, x, y), () -> compiled.execute(bindings));
                GraphCheck.executeAndVerify(context(name + ", then with correct bindings"), compiled,
                        Map.of(x, data.uniform("x", x.shape(), 1.0)), Map.of(), data, bound);
            }
        });
    }

    private static String describe(Map<Value, Tensor> bindings, Value x, Value y) {
        Tensor in = bindings.get(x);
        Tensor out = bindings.get(y);
        return "(input bound to " + (in == null ? "nothing" : in.dtype() + Shapes.text(in.shape()))
                + ", output bound to " + (out == null ? "nothing" : out.dtype() + Shapes.text(out.shape())) + ")";
    }

    private void newShapeNeedsNewCompile(Device device, String name) throws InterruptedException {
        withProbe(device, name, SMALL_WIDTH, SMALL_OUT, 3, (probe, data) -> {
            Subgraph small = probe.build(3);
            Subgraph large = probe.build(5);
            Tolerances.Bound bound = bound(probe, small);
            try (CompiledGraph three = GraphCheck.compile(context(name), device, small);
                 CompiledGraph five = GraphCheck.compile(context(name), device, large)) {
                Value x3 = ProbeGraph.input(small);
                Value x5 = ProbeGraph.input(large);
                GraphCheck.executeAndVerify(context(name + ", 3 rows"), three,
                        Map.of(x3, data.uniform("x", x3.shape(), 1.0)), Map.of(), data, bound);
                GraphCheck.executeAndVerify(context(name + ", 5 rows"), five,
                        Map.of(x5, data.uniform("x", x5.shape(), 1.0)), Map.of(), data, bound);
                Value y3 = ProbeGraph.output(small);
                Value y5 = ProbeGraph.output(large);
                Map<Value, Tensor> fiveRows = Map.of(
                        x3, data.uniform("x", x5.shape(), 1.0),
                        y3, data.filled("y", DType.F32, y5.shape(), Float.NaN));
                Expect.backendException(device.name() + ": executing the graph compiled for 3 rows with 5-row tensors",
                        () -> three.execute(fiveRows));
                GraphCheck.executeAndVerify(context(name + ", 3 rows again"), three,
                        Map.of(x3, data.uniform("x", x3.shape(), 1.0)), Map.of(), data, bound);
            }
        });
    }

    @TestFactory
    public Stream<DynamicTest> unsupportedOpsAreRefused() {
        List<OpCase> candidates = new ArrayList<>(OpCases.all(new Random(seed())));
        candidates.addAll(OpCases.unrunnable());
        List<DynamicTest> tests = new ArrayList<>();
        for (Device device : devices()) {
            int before = tests.size();
            try (Arena arena = Arena.ofShared()) {
                for (OpCase c : candidates) {
                    OpCase.Data built = c.builder().build(new RandomTensors(arena, caseRandom(c.label())));
                    List<Op> unsupported = GraphCheck.unsupportedOps(device, built.graph());
                    if (!unsupported.isEmpty()) {
                        String name = device.name() + " refuses to compile " + c.label() + " ("
                                + GraphCheck.opNames(unsupported) + " UNSUPPORTED)";
                        tests.add(dynamicTest(name, () -> refuseToCompile(device, c)));
                    }
                }
            }
            if (tests.size() == before) {
                tests.add(dynamicTest(device.name() + " refuses to compile unsupported ops", () -> Assumptions.abort(
                        device.name() + " reports every op case supported, even I8 and I32 weights; nothing to refuse")));
            }
        }
        return tests.stream();
    }

    private void refuseToCompile(Device device, OpCase c) {
        try (Arena arena = Arena.ofShared()) {
            Subgraph graph = c.builder().build(new RandomTensors(arena, caseRandom(c.label()))).graph();
            Expect.backendException(device.name() + ": compiling " + c.label() + ", which it reports UNSUPPORTED,",
                    () -> device.compile(graph).close());
        }
    }

    @TestFactory
    public Stream<DynamicTest> compiledCopiesRunConcurrently() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Device device : devices()) {
            String name = device.name() + " two compiled copies of a graph run on two threads at once";
            tests.add(dynamicTest(name, () -> runConcurrently(device, name)));
        }
        return tests.stream();
    }

    /**
     * Each copy gets its own input, so a backend that shares scratch between copies mixes the two
     * results; {@value #CONCURRENT_ROUNDS} rounds start both executions together on a barrier.
     */
    private void runConcurrently(Device device, String name) throws InterruptedException {
        withProbe(device, name, CONCURRENT_WIDTH, CONCURRENT_OUT, SMALL_ROWS, (probe, data) -> {
            Subgraph graph = probe.build(SMALL_ROWS);
            Value x = ProbeGraph.input(graph);
            Value y = ProbeGraph.output(graph);
            Tolerances.Bound bound = bound(probe, graph);
            Tensor[] inputs = {data.uniform("x0", x.shape(), 1.0), data.uniform("x1", x.shape(), 2.0)};
            try (CompiledGraph first = GraphCheck.compile(context(name), device, graph);
                 CompiledGraph second = GraphCheck.compile(context(name), device, graph)) {
                CompiledGraph[] copies = {first, second};
                double[][] sequential = new double[2][];
                double[][] magnitudes = new double[2][];
                for (int i = 0; i < 2; i++) {
                    GraphCheck.Outcome o = GraphCheck.executeAndVerify(context(name + ", copy " + i + " alone"),
                            copies[i], Map.of(x, inputs[i]), Map.of(), data, bound);
                    sequential[i] = toDoubles(o.tensor(y).toFloatArray());
                    magnitudes[i] = o.expected().rowScale(y);
                }
                ExecutorService pool = Executors.newFixedThreadPool(2, Thread.ofPlatform().name("llmnpu-tck-concurrent-", 0).factory());
                try {
                    for (int round = 0; round < CONCURRENT_ROUNDS; round++) {
                        CyclicBarrier start = new CyclicBarrier(2);
                        Tensor[] outputs = new Tensor[2];
                        List<Future<?>> runs = new ArrayList<>();
                        for (int i = 0; i < 2; i++) {
                            int copy = i;
                            outputs[i] = data.filled("y" + i, DType.F32, y.shape(), Float.NaN);
                            runs.add(pool.submit(() -> {
                                start.await(30, TimeUnit.SECONDS);
                                copies[copy].execute(Map.of(x, inputs[copy], y, outputs[copy]));
                                return null;
                            }));
                        }
                        for (int i = 0; i < 2; i++) {
                            awaitRun(runs.get(i), name + ", round " + round + ", copy " + i);
                        }
                        for (int i = 0; i < 2; i++) {
                            ResultCheck.matches(context(name + ", round " + round + ", copy " + i), y, outputs[i],
                                    sequential[i], magnitudes[i], bound, "its result when run alone");
                        }
                    }
                } finally {
                    pool.shutdownNow();
                    pool.awaitTermination(30, TimeUnit.SECONDS);
                }
            }
        });
    }

    private static void awaitRun(Future<?> run, String what) throws InterruptedException {
        try {
            run.get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new AssertionFailedError(what + ": concurrent execute threw " + e.getCause(), e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            run.cancel(true);
            throw new AssertionFailedError(what + ": concurrent execute did not finish within 60 s (deadlock?)");
        }
    }

    /**
     * KV caches change hands: prefill may run attention on one device and decode on another. After this
     * device ran attention over a cache, another device writes rows of it on the host and says so with
     * {@link Device#stateChanged}; the next execution here must read the new rows, whether the device
     * works on the host tensor ({@code HOST}) or keeps its own copy ({@code DEVICE}).
     */
    @TestFactory
    public Stream<DynamicTest> stateWrittenElsewhereIsRead() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Device device : devices()) {
            String name = device.name() + " reads KV cache rows another device wrote (" + device.stateResidency() + ")";
            tests.add(dynamicTest(name, () -> stateChangedElsewhere(device, name)));
        }
        return tests.stream();
    }

    private void stateChangedElsewhere(Device device, String name) {
        int heads = 4;
        int kvHeads = 2;
        int headDim = 8;
        int rows = 2;
        int cacheRows = 8;
        int kvDim = kvHeads * headDim;
        SubgraphBuilder g = new SubgraphBuilder("attention-state");
        Value q = g.input("q", DType.F32, Shape.of(rows, heads * headDim));
        Value k = g.input("k", DType.F32, Shape.of(rows, kvDim));
        Value v = g.input("v", DType.F32, Shape.of(rows, kvDim));
        Value positions = g.input("positions", DType.I32, Shape.of(rows));
        Value kCache = g.input("cache_k", DType.F32, Shape.of(cacheRows, kvDim));
        Value vCache = g.input("cache_v", DType.F32, Shape.of(cacheRows, kvDim));
        Value out = g.value("out", DType.F32, Shape.of(rows, heads * headDim));
        g.add(new Op.Attention(q, k, v, positions, kCache, vCache, heads, kvHeads, headDim, out));
        g.output(out);
        Subgraph graph = g.build();
        if (!GraphCheck.unsupportedOps(device, graph).isEmpty()) {
            Assumptions.abort(device.name() + " runs no Attention; nothing to keep coherent");
        }
        try (Arena arena = Arena.ofShared(); CompiledGraph compiled = GraphCheck.compile(context(name), device, graph)) {
            RandomTensors data = new RandomTensors(arena, caseRandom(name));
            Tensor keys = OpCases.cache(data, "cache_k", cacheRows, kvDim, 0);
            Tensor values = OpCases.cache(data, "cache_v", cacheRows, kvDim, 0);
            Tolerances.Bound bound = tolerances().forComposite(DType.F32);
            for (int step = 0; step < 2; step++) {
                Map<Value, Tensor> inputs = new HashMap<>();
                inputs.put(q, data.uniform("q", q.shape(), 2.0));
                inputs.put(k, data.uniform("k", k.shape(), 1.0));
                inputs.put(v, data.uniform("v", v.shape(), 1.0));
                inputs.put(positions, data.ints("positions", new int[] {2 * step, 2 * step + 1}));
                inputs.put(kCache, keys);
                inputs.put(vCache, values);
                GraphCheck.executeAndVerify(context(name + (step == 0 ? ", first rows" : ", after another device "
                        + "rewrote rows 0-1 and said so")), compiled, inputs, Map.of(), data, bound);
                // Another device rewrites the rows just written, then tells this one.
                for (Tensor cache : List.of(keys, values)) {
                    for (long i = 0; i < 2L * kvDim; i++) {
                        cache.setFloat(i, (float) (data.random().nextDouble() * 2 - 1));
                    }
                    device.stateChanged(cache);
                }
            }
        }
    }

    @TestFactory
    public Stream<DynamicTest> repeatedCyclesDoNotLeak() {
        int cycles = lifetimeCycles();
        List<DynamicTest> tests = new ArrayList<>();
        for (Device device : devices()) {
            String name = device.name() + " " + cycles + " compile/execute/close cycles leak neither threads nor memory";
            tests.add(dynamicTest(name, () -> runCycles(device, cycles, name)));
        }
        return tests.stream();
    }

    /**
     * Warms up, takes the live threads and the resident memory outside the heap (see
     * {@link ProcessProbe}), runs the cycles, and compares: at most {@value #LIFETIME_THREAD_SLACK}
     * more threads and at most 128 MiB more memory. The last cycle's result must still be right.
     */
    private void runCycles(Device device, int cycles, String name) throws InterruptedException {
        withProbe(device, name, LIFETIME_WIDTH, LIFETIME_OUT, LIFETIME_ROWS, (probe, data) -> {
            Subgraph graph = probe.build(LIFETIME_ROWS);
            Value x = ProbeGraph.input(graph);
            Value y = ProbeGraph.output(graph);
            Tensor in = data.uniform("x", x.shape(), 1.0);
            Tensor out = data.filled("y", DType.F32, y.shape(), Float.NaN);
            Map<Value, Tensor> bindings = Map.of(x, in, y, out);
            for (int i = 0; i < LIFETIME_WARMUP; i++) {
                cycle(device, graph, bindings, name, i);
            }
            Set<Thread> threadsBefore = ProcessProbe.liveThreads();
            OptionalLong memoryBefore = ProcessProbe.nonHeapResidentBytes();
            for (int i = 0; i < cycles; i++) {
                cycle(device, graph, bindings, name, LIFETIME_WARMUP + i);
            }
            OptionalLong memoryAfter = ProcessProbe.nonHeapResidentBytes();
            ReferenceGraph.Result expected = ReferenceGraph.run(graph, Map.of(x, in), Map.of());
            ResultCheck.matches(context(name + ", result of the last cycle"), y, out, expected.get(y),
                    expected.rowScale(y), bound(probe, graph));

            List<Thread> added = ProcessProbe.newThreads(threadsBefore);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            while (added.size() > LIFETIME_THREAD_SLACK && System.nanoTime() < deadline) {
                Thread.sleep(20); // threads that are ending are not leaks
                added = ProcessProbe.newThreads(threadsBefore);
            }
            if (added.size() > LIFETIME_THREAD_SLACK) {
                throw new AssertionFailedError(device.name() + ": after " + cycles + " compile/execute/close cycles "
                        + added.size() + " more threads are alive than after warm-up (at most " + LIFETIME_THREAD_SLACK
                        + " allowed): " + ProcessProbe.describe(added.subList(0, Math.min(10, added.size())))
                        + (added.size() > 10 ? ", ..." : ""));
            }
            if (memoryBefore.isPresent() && memoryAfter.isPresent()) {
                long growth = memoryAfter.getAsLong() - memoryBefore.getAsLong();
                LOG.info("{}: {} cycles of graph '{}': {} more live threads, resident memory outside the heap {} -> {} MiB",
                        device.name(), cycles, graph.name(), added.size(), memoryBefore.getAsLong() >> 20,
                        memoryAfter.getAsLong() >> 20);
                if (growth > LIFETIME_MEMORY_SLACK) {
                    throw new AssertionFailedError(String.format(Locale.ROOT,
                            "%s: resident memory outside the Java heap grew by %d MiB over %d compile/execute/close"
                                    + " cycles of graph '%s' (about %d KiB per cycle; at most %d MiB allowed in all);"
                                    + " does CompiledGraph.close() free its scratch and packed weights?",
                            device.name(), growth >> 20, cycles, graph.name(), (growth >> 10) / cycles,
                            LIFETIME_MEMORY_SLACK >> 20));
                }
            } else {
                LOG.info("{}: this platform reports no resident set size; memory growth over {} cycles not checked",
                        device.name(), cycles);
            }
        });
    }

    private static void cycle(Device device, Subgraph graph, Map<Value, Tensor> bindings, String name, int index) {
        try (CompiledGraph compiled = device.compile(graph)) {
            compiled.execute(bindings);
        } catch (RuntimeException e) {
            throw new AssertionFailedError(name + ": cycle " + index + " threw " + e, e);
        }
    }

    @TestFactory
    public Stream<DynamicTest> closedGraphRejectsExecution() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Device device : devices()) {
            String name = device.name() + " executing a closed compiled graph throws BackendException";
            tests.add(dynamicTest(name, () -> withProbe(device, name, SMALL_WIDTH, SMALL_OUT, SMALL_ROWS, (probe, data) -> {
                Subgraph graph = probe.build(SMALL_ROWS);
                Value x = ProbeGraph.input(graph);
                Value y = ProbeGraph.output(graph);
                CompiledGraph compiled = GraphCheck.compile(context(name), device, graph);
                GraphCheck.Outcome once;
                try {
                    once = GraphCheck.executeAndVerify(context(name), compiled,
                            Map.of(x, data.uniform("x", x.shape(), 1.0)), Map.of(), data, bound(probe, graph));
                } finally {
                    compiled.close();
                }
                Expect.backendException(device.name() + ": executing a compiled graph after its close()",
                        () -> compiled.execute(once.bindings()));
            })));
        }
        return tests.stream();
    }

    @TestFactory
    public Stream<DynamicTest> closingBackendUnplugsDevices() {
        AtomicReference<Set<Thread>> baseline = new AtomicReference<>();
        String prefix = provider.name() + " backend";
        return Stream.of(
                dynamicTest(prefix + ": executing a graph after Backend.close() throws BackendException",
                        () -> unplugAndExecute(baseline)),
                dynamicTest(prefix + ": Backend.close() stops the backend's threads", () -> {
                    Assumptions.assumeTrue(baseline.get() != null, "the unplug check did not get as far as closing the backend");
                    List<Thread> left = ProcessProbe.awaitNoNewThreads(baseline.get(), THREAD_STOP_TIMEOUT_MILLIS);
                    if (!left.isEmpty()) {
                        throw new AssertionFailedError("Backend.close() must stop the backend's threads, but "
                                + (THREAD_STOP_TIMEOUT_MILLIS / 1000) + " s later " + left.size() + " thread(s) started"
                                + " since it was created are still alive: " + ProcessProbe.describe(left));
                    }
                }));
    }

    /**
     * Compiles and runs a graph on every device of a fresh backend, closes the backend, and requires
     * each compiled graph to refuse to run. A first backend is created and closed before the thread
     * baseline is taken, so that threads the JVM starts lazily on first use are not counted.
     *
     * @param baseline receives the live threads before the checked backend was created
     */
    private void unplugAndExecute(AtomicReference<Set<Thread>> baseline) throws InterruptedException {
        exerciseAndClose(provider.create(options()));
        ProcessProbe.settle();
        baseline.set(ProcessProbe.liveThreads());
        Backend unplugged = provider.create(options());
        boolean closed = false;
        try (Arena arena = Arena.ofShared()) {
            RandomTensors data = new RandomTensors(arena, caseRandom("unplug"));
            List<Device> devices = unplugged.devices();
            List<CompiledGraph> compiled = new ArrayList<>();
            List<Map<Value, Tensor>> bindings = new ArrayList<>();
            List<String> deviceNames = new ArrayList<>();
            for (Device device : devices) {
                var probe = ProbeGraph.firstSupported(device, data, SMALL_WIDTH, SMALL_OUT, SMALL_ROWS);
                if (probe.isEmpty()) {
                    continue;
                }
                Subgraph graph = probe.get().build(SMALL_ROWS);
                CompiledGraph c = GraphCheck.compile(device.name() + " unplug", device, graph);
                compiled.add(c);
                Value x = ProbeGraph.input(graph);
                bindings.add(GraphCheck.executeAndVerify(device.name() + " before Backend.close()", c,
                        Map.of(x, data.uniform("x", x.shape(), 1.0)), Map.of(), data, bound(probe.get(), graph)).bindings());
                deviceNames.add(device.name());
            }
            if (compiled.isEmpty()) {
                Assumptions.abort("no device of " + provider.name() + " supports any probe graph");
            }
            unplugged.close();
            closed = true;
            for (int i = 0; i < compiled.size(); i++) {
                CompiledGraph c = compiled.get(i);
                Map<Value, Tensor> b = bindings.get(i);
                Expect.backendException(deviceNames.get(i) + ": executing a graph compiled before Backend.close()",
                        () -> c.execute(b));
            }
            for (int i = 0; i < compiled.size(); i++) {
                try {
                    compiled.get(i).close();
                } catch (BackendException e) {
                    LOG.debug("{}: closing a compiled graph after its backend threw {}", deviceNames.get(i), e.getMessage());
                } catch (RuntimeException e) {
                    throw new AssertionFailedError(deviceNames.get(i) + ": CompiledGraph.close() after Backend.close()"
                            + " threw " + e + "; it may throw BackendException or nothing", e);
                }
            }
        } finally {
            if (!closed) {
                unplugged.close();
            }
        }
    }

    /** Runs one probe graph on every device of {@code b}, then closes it. */
    private void exerciseAndClose(Backend b) {
        try (Arena arena = Arena.ofShared(); b) {
            RandomTensors data = new RandomTensors(arena, caseRandom("warm-up"));
            for (Device device : b.devices()) {
                var probe = ProbeGraph.firstSupported(device, data, SMALL_WIDTH, SMALL_OUT, SMALL_ROWS);
                if (probe.isPresent()) {
                    Subgraph graph = probe.get().build(SMALL_ROWS);
                    Value x = ProbeGraph.input(graph);
                    Value y = ProbeGraph.output(graph);
                    try (CompiledGraph c = device.compile(graph)) {
                        c.execute(Map.of(x, data.uniform("x", x.shape(), 1.0),
                                y, data.filled("y", DType.F32, y.shape(), Float.NaN)));
                    }
                }
            }
        }
    }

    // ---- helpers ----

    private Backend backend() {
        if (backend == null) {
            backend = provider.create(options());
            if (backend == null) {
                throw new AssertionFailedError(provider.name() + ": BackendProvider.create returned null");
            }
        }
        return backend;
    }

    private List<Device> devices() {
        List<Device> devices = backend().devices();
        if (devices == null || devices.isEmpty()) {
            throw new AssertionFailedError("backend " + backend().name() + " lists no devices");
        }
        return devices;
    }

    private Random caseRandom(String label) {
        return new Random(seed() ^ (label.hashCode() * 0x9E3779B97F4A7C15L));
    }

    private String context(String name) {
        return name + " [seed 0x" + Long.toHexString(seed()) + "]";
    }

    private Tolerances.Bound bound(ProbeGraph probe, Subgraph graph) {
        if (probe.weightType() == DType.I8) {
            return tolerances().quantizedLinear(0f);
        }
        return graph.ops().size() > 1 ? tolerances().forComposite(probe.weightType()) : tolerances().forWeights(probe.weightType());
    }

    @FunctionalInterface
    private interface ProbeCheck {
        void run(ProbeGraph probe, RandomTensors data) throws InterruptedException;
    }

    /** Runs {@code check} on the first probe graph {@code device} supports, with an arena for its data. */
    private void withProbe(Device device, String name, int width, int outWidth, int rows, ProbeCheck check)
            throws InterruptedException {
        try (Arena arena = Arena.ofShared()) {
            RandomTensors data = new RandomTensors(arena, caseRandom(name));
            ProbeGraph probe = ProbeGraph.firstSupported(device, data, width, outWidth, rows)
                    .orElseGet(() -> Assumptions.abort(device.name()
                            + " supports none of the probe graphs (chain, Linear of any weight type, RmsNorm, Add, SiluMul,"
                            + " QuantizedLinear)"));
            check.run(probe, data);
        }
    }

    private static double[] toDoubles(float[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i];
        }
        return out;
    }
}
