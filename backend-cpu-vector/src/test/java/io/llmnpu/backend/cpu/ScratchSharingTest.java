package io.llmnpu.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.Test;

/** Scratch buffers shared by liveness: bounded by the live set, never shared by values alive together. */
class ScratchSharingTest {

    private static final int ROWS = 20;
    private static final int DIM = 64;
    private static final int HIDDEN = 80;

    private static CpuBackend backend;
    private static Arena weights;
    private static Tensor norm;
    private static Tensor wq;
    private static Tensor wGate;
    private static Tensor wUp;
    private static Tensor wDown;

    @BeforeAll
    static void start() {
        backend = new CpuBackend(new BackendOptions(2));
        weights = Arena.ofShared();
        Random rnd = new Random(3);
        norm = TestData.f32(weights, "norm", Shape.of(DIM), TestData.floats(rnd, DIM, 1.5f));
        wq = EncodedMatrix.random(weights, DType.F32, DIM, DIM, rnd).tensor();
        wGate = EncodedMatrix.random(weights, DType.Q8_0, HIDDEN, DIM, rnd).tensor();
        wUp = EncodedMatrix.random(weights, DType.F16, HIDDEN, DIM, rnd).tensor();
        wDown = EncodedMatrix.random(weights, DType.F32, DIM, HIDDEN, rnd).tensor();
    }

    @AfterAll
    static void stop() {
        backend.close();
        weights.close();
    }

    /** {@code layers} residual blocks (norm, projection, gated FFN, two residual adds) on [ROWS, DIM]. */
    private static Subgraph layers(int layers) {
        SubgraphBuilder b = new SubgraphBuilder("layers-" + layers);
        Value x = b.input("x", DType.F32, Shape.of(ROWS, DIM));
        for (int l = 0; l < layers; l++) {
            Value h = b.add(new Op.RmsNorm(x, norm, 1e-5f, b.value("h" + l, DType.F32, x.shape()))).out();
            Value q = b.add(new Op.Linear(h, wq, b.value("q" + l, DType.F32, x.shape()))).out();
            Value x2 = b.add(new Op.Add(x, q, b.value("x2_" + l, DType.F32, x.shape()))).out();
            Value g = b.add(new Op.Linear(x2, wGate, b.value("g" + l, DType.F32, Shape.of(ROWS, HIDDEN)))).out();
            Value u = b.add(new Op.Linear(x2, wUp, b.value("u" + l, DType.F32, Shape.of(ROWS, HIDDEN)))).out();
            Value a = b.add(new Op.SiluMul(g, u, b.value("a" + l, DType.F32, g.shape()))).out();
            Value d = b.add(new Op.Linear(a, wDown, b.value("d" + l, DType.F32, x.shape()))).out();
            x = b.add(new Op.Add(x2, d, b.value("x" + (l + 1), DType.F32, x.shape()))).out();
        }
        b.output(x);
        return b.build();
    }

    private static long scratchBytes(Subgraph g) {
        try (CpuCompiledGraph compiled = CpuCompiledGraph.compile(g, backend)) {
            return compiled.scratchBytes();
        }
    }

    private static long allIntermediateBytes(Subgraph g) {
        Set<Integer> bound = boundIds(g);
        long sum = 0;
        for (Op op : g.ops()) {
            for (Value v : op.outputs()) {
                if (!bound.contains(v.id())) {
                    sum += 4L * v.shape().elements();
                }
            }
        }
        return sum;
    }

    @Test
    void scratchDoesNotGrowWithLayers() {
        long one = scratchBytes(layers(1));
        long two = scratchBytes(layers(2));
        long twelve = scratchBytes(layers(12));
        assertEquals(two, twelve, "scratch of 2 and 12 layers");
        assertTrue(two <= 2 * allIntermediateBytes(layers(1)), "2-layer scratch " + two
                + " exceeds two layers of intermediates");
        assertTrue(twelve < allIntermediateBytes(layers(12)) / 5, "12 layers must share buffers");
        assertTrue(one > 0, "one layer needs scratch");
    }

    /** Twelve layers in one graph (buffers reused across layers) equal twelve runs of a one-layer graph. */
    @Test
    void sharedBuffersGiveTheSameResultAsSeparateGraphs() {
        Random rnd = new Random(8);
        float[] input = TestData.floats(rnd, ROWS * DIM, 1f);
        try (Arena arena = Arena.ofShared()) {
            Subgraph deep = layers(12);
            Tensor out = Tensor.allocate(arena, "y", DType.F32, Shape.of(ROWS, DIM));
            try (CpuCompiledGraph g = CpuCompiledGraph.compile(deep, backend)) {
                g.execute(Map.of(deep.inputs().getFirst(), TestData.f32(arena, "x", Shape.of(ROWS, DIM), input),
                        deep.outputs().getFirst(), out));
            }
            Subgraph one = layers(1);
            float[] x = input;
            try (CpuCompiledGraph g = CpuCompiledGraph.compile(one, backend)) {
                for (int l = 0; l < 12; l++) {
                    Tensor y = Tensor.allocate(arena, "y", DType.F32, Shape.of(ROWS, DIM));
                    g.execute(Map.of(one.inputs().getFirst(), TestData.f32(arena, "x", Shape.of(ROWS, DIM), x),
                            one.outputs().getFirst(), y));
                    x = TestData.read(y);
                }
            }
            assertArrayEquals(x, TestData.read(out), "12-layer graph vs 12 one-layer runs");
        }
    }

    /**
     * Random graphs of Add ops over values of a few widths compute the same sums through shared scratch
     * as a plain evaluation (that live values never share a buffer is BufferLivenessPlanTest's job).
     */
    @RepeatedTest(20)
    void randomGraphsComputeThroughSharedScratch(RepetitionInfo info) {
        Random rnd = new Random(1000 + info.getCurrentRepetition());
        int[] widths = {3, 16, 37};
        SubgraphBuilder b = new SubgraphBuilder("random");
        List<List<Value>> byWidth = new ArrayList<>();
        List<Value> inputs = new ArrayList<>();
        for (int w : widths) {
            Value in = b.input("in" + w, DType.F32, Shape.of(2, w));
            inputs.add(in);
            byWidth.add(new ArrayList<>(List.of(in)));
        }
        int ops = 5 + rnd.nextInt(30);
        List<Value> outputs = new ArrayList<>();
        for (int i = 0; i < ops; i++) {
            int wi = rnd.nextInt(widths.length);
            List<Value> pool = byWidth.get(wi);
            Value a = pool.get(rnd.nextInt(pool.size()));
            Value c = pool.get(Math.max(0, pool.size() - 1 - rnd.nextInt(3)));
            Value out = b.add(new Op.Add(a, c, b.value("v" + i, DType.F32, a.shape()))).out();
            pool.add(out);
            if (rnd.nextInt(6) == 0) {
                outputs.add(out);
            }
        }
        for (List<Value> pool : byWidth) {
            if (pool.size() > 1 && !outputs.contains(pool.getLast())) {
                outputs.add(pool.getLast());
            }
        }
        outputs.forEach(b::output);
        Subgraph g = b.build();

        Map<Integer, double[]> expected = new HashMap<>();
        Map<Value, Tensor> bindings = new HashMap<>();
        try (Arena arena = Arena.ofShared(); CpuCompiledGraph compiled = CpuCompiledGraph.compile(g, backend)) {
            for (Value in : inputs) {
                float[] data = TestData.floats(rnd, Math.toIntExact(in.shape().elements()), 1f);
                bindings.put(in, TestData.f32(arena, in.name(), in.shape(), data));
                expected.put(in.id(), LlamaBlockFixture.d(data));
            }
            for (Op op : g.ops()) {
                Op.Add add = (Op.Add) op;
                float[] a = LlamaBlockFixture.f(expected.get(add.a().id()));
                float[] c = LlamaBlockFixture.f(expected.get(add.b().id()));
                expected.put(add.out().id(), LlamaBlockFixture.d(LlamaBlockFixture.f(Reference.add(a, c))));
            }
            for (Value out : g.outputs()) {
                bindings.put(out, Tensor.allocate(arena, out.name(), DType.F32, out.shape()));
            }
            compiled.execute(bindings);
            for (Value out : g.outputs()) {
                TestData.assertClose(expected.get(out.id()), TestData.read(bindings.get(out)), 0, "output " + out);
            }
        }
    }

    private static Set<Integer> boundIds(Subgraph g) {
        Set<Integer> bound = new HashSet<>();
        g.inputs().forEach(v -> bound.add(v.id()));
        g.outputs().forEach(v -> bound.add(v.id()));
        return bound;
    }
}
