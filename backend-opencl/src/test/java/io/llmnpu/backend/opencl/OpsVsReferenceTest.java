package io.llmnpu.backend.opencl;

import static io.llmnpu.backend.opencl.TestTensors.assertClose;
import static io.llmnpu.backend.opencl.TestTensors.rows;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.llmnpu.api.backend.Affinity;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.RopeStyle;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every op on the OpenCL device against the double-precision reference, over random odd shapes. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpsVsReferenceTest {
    private static final DType[] WEIGHT_TYPES = {DType.F32, DType.F16, DType.BF16, DType.Q8_0, DType.Q4_0};

    private OpenClTestDevice cl;

    @BeforeAll
    void open() {
        cl = OpenClTestDevice.open();
    }

    @AfterAll
    void close() {
        if (cl != null) {
            cl.close();
        }
    }

    static Stream<Arguments> linearCases() {
        Stream.Builder<Arguments> cases = Stream.builder();
        int seed = 1;
        for (DType type : WEIGHT_TYPES) {
            for (int rows : new int[] {1, 3, 4, 5, 19, 37}) {
                cases.add(Arguments.of(type, rows, seed++));
            }
        }
        return cases.build();
    }

    @ParameterizedTest(name = "{0} weights, {1} rows")
    @MethodSource("linearCases")
    void linearMatchesReference(DType type, int rows, int seed) {
        Random rnd = new Random(seed);
        int out = 1 + rnd.nextInt(70);
        int in = type.isQuantized() ? 32 * (1 + rnd.nextInt(5)) : 1 + rnd.nextInt(150);
        try (Arena arena = Arena.ofConfined()) {
            Tensor w = WeightCodec.random(arena, "w", type, out, in, rnd);
            SubgraphBuilder g = new SubgraphBuilder("linear");
            Value x = g.input("x", DType.F32, Shape.of(rows, in));
            Value y = g.value("y", DType.F32, Shape.of(rows, out));
            g.add(new Op.Linear(x, w, y));
            g.output(y);
            Tensor xt = TestTensors.randomF32(arena, "x", Shape.of(rows, in), rnd, 1);
            Tensor yt = TestTensors.zeros(arena, y);
            run(g, Map.of(x, xt, y, yt));
            double[][] wd = WeightCodec.matrix(w);
            double[][] expected = Reference.linear(rows(xt), wd);
            double[][] magnitude = Reference.linearMagnitude(rows(xt), wd);
            double[][] actual = rows(yt);
            for (int t = 0; t < rows; t++) {
                for (int n = 0; n < out; n++) {
                    double tol = 1e-6 + 2e-6 * Math.sqrt(in) * magnitude[t][n];
                    assertEquals(expected[t][n], actual[t][n], tol, type + " y[" + t + "][" + n + "] of [" + out + "x" + in + "]");
                }
            }
        }
    }

    static Stream<Arguments> tableTypes() {
        return Stream.of(WEIGHT_TYPES).map(Arguments::of);
    }

    @ParameterizedTest(name = "{0} table")
    @MethodSource("tableTypes")
    void embeddingGathersDecodedRows(DType type) {
        Random rnd = new Random(type.ordinal() + 100);
        int vocab = 11 + rnd.nextInt(20);
        int dim = type.isQuantized() ? 64 : 37;
        try (Arena arena = Arena.ofConfined()) {
            Tensor table = WeightCodec.random(arena, "table", type, vocab, dim, rnd);
            int[] ids = {3, 0, vocab - 1, 3, 7};
            SubgraphBuilder g = new SubgraphBuilder("embedding");
            Value tokens = g.input("tokens", DType.I32, Shape.of(ids.length));
            Value out = g.value("out", DType.F32, Shape.of(ids.length, dim));
            g.add(new Op.Embedding(tokens, table, out));
            g.output(out);
            Tensor outT = TestTensors.zeros(arena, out);
            run(g, Map.of(tokens, TestTensors.ints(arena, "tokens", ids), out, outT));
            double[][] decoded = WeightCodec.matrix(table);
            double[][] expected = new double[ids.length][];
            for (int t = 0; t < ids.length; t++) {
                expected[t] = decoded[ids[t]];
            }
            assertClose(expected, rows(outT), 0, 1e-7, type + " embedding");
        }
    }

    static Stream<Arguments> normCases() {
        return Stream.of(Arguments.of(DType.F32, 1, 37), Arguments.of(DType.F32, 3, 129), Arguments.of(DType.F16, 5, 64),
                Arguments.of(DType.BF16, 2, 255), Arguments.of(DType.F32, 4, 1));
    }

    @ParameterizedTest(name = "{0} weight, {1} rows of {2}")
    @MethodSource("normCases")
    void rmsNormMatchesReference(DType weightType, int rowCount, int width) {
        Random rnd = new Random(rowCount * 1000L + width);
        try (Arena arena = Arena.ofConfined()) {
            Tensor weight = WeightCodec.random(arena, "norm", weightType, 1, width, rnd);
            Tensor weightVector = new Tensor("norm", weightType, Shape.of(width), weight.data());
            SubgraphBuilder g = new SubgraphBuilder("rmsnorm");
            Value x = g.input("x", DType.F32, Shape.of(rowCount, width));
            Value y = g.value("y", DType.F32, Shape.of(rowCount, width));
            g.add(new Op.RmsNorm(x, weightVector, 1e-5f, y));
            g.output(y);
            Tensor xt = TestTensors.randomF32(arena, "x", Shape.of(rowCount, width), rnd, 3);
            Tensor yt = TestTensors.zeros(arena, y);
            run(g, Map.of(x, xt, y, yt));
            double[][] expected = Reference.rmsNorm(rows(xt), WeightCodec.vector(weightVector), (double) 1e-5f);
            assertClose(expected, rows(yt), 1e-6, 1e-5, "rmsnorm");
        }
    }

    static Stream<Arguments> ropeCases() {
        return Stream.of(
                Arguments.of(RopeStyle.ADJACENT, 1, 2, 16, 16),
                Arguments.of(RopeStyle.ADJACENT, 5, 3, 10, 6),
                Arguments.of(RopeStyle.NEOX, 1, 4, 8, 8),
                Arguments.of(RopeStyle.NEOX, 6, 3, 18, 10),
                Arguments.of(RopeStyle.NEOX, 7, 2, 64, 64),
                Arguments.of(RopeStyle.ADJACENT, 7, 1, 128, 128));
    }

    @ParameterizedTest(name = "{0}, {1} rows, {2} heads of {3}, {4} rotary")
    @MethodSource("ropeCases")
    void ropeMatchesReference(RopeStyle style, int rowCount, int heads, int headDim, int rotaryDims) {
        Random rnd = new Random(rowCount * 31L + headDim * 7L + rotaryDims + style.ordinal());
        int width = heads * headDim;
        int[] positions = new int[rowCount];
        for (int t = 0; t < rowCount; t++) {
            // Large positions test the angle precision; a negative one is padding.
            positions[t] = t == 1 ? -1 : rnd.nextInt(t % 2 == 0 ? 50 : 40000);
        }
        float theta = rnd.nextBoolean() ? 10000f : 500000f;
        try (Arena arena = Arena.ofConfined()) {
            SubgraphBuilder g = new SubgraphBuilder("rope");
            Value x = g.input("x", DType.F32, Shape.of(rowCount, width));
            Value pos = g.input("positions", DType.I32, Shape.of(rowCount));
            Value y = g.value("y", DType.F32, Shape.of(rowCount, width));
            g.add(new Op.Rope(x, pos, headDim, rotaryDims, theta, style, y));
            g.output(y);
            Tensor xt = TestTensors.randomF32(arena, "x", Shape.of(rowCount, width), rnd, 2);
            Tensor yt = TestTensors.zeros(arena, y);
            run(g, Map.of(x, xt, pos, TestTensors.ints(arena, "positions", positions), y, yt));
            double[][] expected = Reference.rope(rows(xt), positions, headDim, rotaryDims, theta, style);
            assertClose(expected, rows(yt), 2e-6, 2e-6, style + " rope");
        }
    }

    static Stream<Arguments> attentionCases() {
        // heads, kvHeads, headDim, rows, context rows, start position, padding rows at the end
        return Stream.of(
                Arguments.of(4, 4, 16, 1, 9, 5, 0),
                Arguments.of(4, 2, 8, 5, 13, 3, 1),
                Arguments.of(8, 2, 24, 7, 40, 0, 2),
                Arguments.of(6, 3, 64, 1, 150, 130, 0),
                Arguments.of(3, 3, 33, 9, 100, 70, 0),
                Arguments.of(8, 8, 128, 2, 70, 66, 1));
    }

    @ParameterizedTest(name = "{0}/{1} heads of {2}, {3} rows, ctx {4}, from {5}, {6} padded")
    @MethodSource("attentionCases")
    void attentionMatchesReferenceAndUpdatesCaches(int heads, int kvHeads, int headDim, int rowCount, int ctx,
                                                   int start, int padding) {
        Random rnd = new Random(heads * 100_003L + kvHeads * 101L + headDim + rowCount * 7L + ctx);
        int qWidth = heads * headDim;
        int kvWidth = kvHeads * headDim;
        int[] positions = new int[rowCount];
        for (int t = 0; t < rowCount; t++) {
            positions[t] = t < rowCount - padding ? start + t : -1;
        }
        try (Arena arena = Arena.ofConfined()) {
            SubgraphBuilder g = new SubgraphBuilder("attention");
            Value q = g.input("q", DType.F32, Shape.of(rowCount, qWidth));
            Value k = g.input("k", DType.F32, Shape.of(rowCount, kvWidth));
            Value v = g.input("v", DType.F32, Shape.of(rowCount, kvWidth));
            Value pos = g.input("positions", DType.I32, Shape.of(rowCount));
            Value kc = g.input("k_cache", DType.F32, Shape.of(ctx, kvWidth));
            Value vc = g.input("v_cache", DType.F32, Shape.of(ctx, kvWidth));
            Value out = g.value("out", DType.F32, Shape.of(rowCount, qWidth));
            g.add(new Op.Attention(q, k, v, pos, kc, vc, heads, kvHeads, headDim, out));
            g.output(out);
            Tensor qt = TestTensors.randomF32(arena, "q", Shape.of(rowCount, qWidth), rnd, 1);
            Tensor kt = TestTensors.randomF32(arena, "k", Shape.of(rowCount, kvWidth), rnd, 1);
            Tensor vt = TestTensors.randomF32(arena, "v", Shape.of(rowCount, kvWidth), rnd, 1);
            // Earlier positions hold history; the rest holds garbage the op must not read.
            Tensor kct = TestTensors.randomF32(arena, "k_cache", Shape.of(ctx, kvWidth), rnd, 1);
            Tensor vct = TestTensors.randomF32(arena, "v_cache", Shape.of(ctx, kvWidth), rnd, 1);
            Tensor outT = TestTensors.randomF32(arena, "out", Shape.of(rowCount, qWidth), rnd, 1);
            double[][] kCache = rows(kct);
            double[][] vCache = rows(vct);
            double[][] expected = Reference.attention(rows(qt), rows(kt), rows(vt), positions, kCache, vCache,
                    heads, kvHeads, headDim);
            Map<Value, Tensor> bindings = new HashMap<>();
            bindings.put(q, qt);
            bindings.put(k, kt);
            bindings.put(v, vt);
            bindings.put(pos, TestTensors.ints(arena, "positions", positions));
            bindings.put(kc, kct);
            bindings.put(vc, vct);
            bindings.put(out, outT);
            run(g, bindings);
            assertClose(expected, rows(outT), 2e-6, 2e-5, "attention output");
            assertClose(kCache, rows(kct), 0, 0, "key cache");
            assertClose(vCache, rows(vct), 0, 0, "value cache");
        }
    }

    @Test
    void siluMulAddAndSelectRow() {
        Random rnd = new Random(7);
        int rowCount = 5;
        int width = 77;
        try (Arena arena = Arena.ofConfined()) {
            SubgraphBuilder g = new SubgraphBuilder("elementwise");
            Value a = g.input("a", DType.F32, Shape.of(rowCount, width));
            Value b = g.input("b", DType.F32, Shape.of(rowCount, width));
            Value act = g.value("act", DType.F32, Shape.of(rowCount, width));
            Value sum = g.value("sum", DType.F32, Shape.of(rowCount, width));
            Value last = g.value("last", DType.F32, Shape.of(1, width));
            g.add(new Op.SiluMul(a, b, act));
            g.add(new Op.Add(act, a, sum));
            g.add(new Op.SelectRow(sum, 3, last));
            g.output(act);
            g.output(sum);
            g.output(last);
            Tensor at = TestTensors.randomF32(arena, "a", Shape.of(rowCount, width), rnd, 6);
            Tensor bt = TestTensors.randomF32(arena, "b", Shape.of(rowCount, width), rnd, 2);
            Tensor actT = TestTensors.zeros(arena, act);
            Tensor sumT = TestTensors.zeros(arena, sum);
            Tensor lastT = TestTensors.zeros(arena, last);
            run(g, Map.of(a, at, b, bt, act, actT, sum, sumT, last, lastT));
            double[][] ad = rows(at);
            double[][] bd = rows(bt);
            double[][] expectedAct = new double[rowCount][width];
            double[][] expectedSum = new double[rowCount][width];
            for (int t = 0; t < rowCount; t++) {
                for (int i = 0; i < width; i++) {
                    expectedAct[t][i] = Reference.silu(ad[t][i]) * bd[t][i];
                    expectedSum[t][i] = (float) expectedAct[t][i] + ad[t][i];
                }
            }
            assertClose(expectedAct, rows(actT), 1e-6, 1e-6, "silu_mul");
            assertClose(expectedSum, rows(sumT), 1e-6, 1e-6, "add");
            assertArrayEquals(sumT.data().asSlice(3L * width * 4, width * 4L).toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT),
                    lastT.toFloatArray(), "select row copies row 3 exactly");
        }
    }

    @Test
    void affinityIsNativeWithCostForEveryOp() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor w = WeightCodec.random(arena, "w", DType.Q8_0, 64, 64, new Random(1));
            SubgraphBuilder g = new SubgraphBuilder("affinity");
            Value x = g.input("x", DType.F32, Shape.of(4, 64));
            Value y = g.value("y", DType.F32, Shape.of(4, 64));
            Op small = new Op.Linear(x, w, y);
            Affinity a = cl.device.affinity(small);
            assertEquals(Affinity.Support.NATIVE, a.support());
            Value xBig = g.input("xb", DType.F32, Shape.of(256, 64));
            Value yBig = g.value("yb", DType.F32, Shape.of(256, 64));
            double big = cl.device.affinity(new Op.Linear(xBig, w, yBig)).estimatedSeconds();
            org.junit.jupiter.api.Assertions.assertTrue(big > a.estimatedSeconds() && Double.isFinite(big),
                    "more rows cost more: " + a.estimatedSeconds() + " vs " + big);
            Value xI8 = g.input("xi", DType.I8, Shape.of(4, 64));
            assertEquals(Affinity.Support.UNSUPPORTED, cl.device.affinity(new Op.Linear(xI8, w, y)).support());
            Value tooWide = g.input("q", DType.F32, Shape.of(1, 1024));
            Value kv = g.input("kv", DType.F32, Shape.of(1, 1024));
            Value p = g.input("p", DType.I32, Shape.of(1));
            Value cache = g.input("c", DType.F32, Shape.of(8, 1024));
            Value cache2 = g.input("c2", DType.F32, Shape.of(8, 1024));
            assertEquals(Affinity.Support.UNSUPPORTED, cl.device.affinity(
                    new Op.Attention(tooWide, kv, kv, p, cache, cache2, 1, 1, 1024, tooWide)).support(), "head dim 1024");
        }
    }

    private void run(SubgraphBuilder g, Map<Value, Tensor> bindings) {
        try (CompiledGraph compiled = cl.device.compile(g.build())) {
            compiled.execute(bindings);
        }
    }
}
