package io.llmnpu.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Causal grouped-query attention over the KV cache: reference agreement, decode = prefill, padding. */
class AttentionTest {

    private static CpuBackend backend;

    @BeforeAll
    static void start() {
        backend = new CpuBackend(new BackendOptions(3));
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    /** The shapes and caches of one attention graph. */
    private record Geometry(int rows, int heads, int kvHeads, int headDim, int context) {
        int qWidth() {
            return heads * headDim;
        }

        int kvWidth() {
            return kvHeads * headDim;
        }
    }

    /** A compiled one-op attention graph with its value handles. */
    private record AttentionGraph(CompiledGraph compiled, Value q, Value k, Value v, Value pos, Value kCache,
                                  Value vCache, Value out) implements AutoCloseable {
        static AttentionGraph compile(Geometry g) {
            SubgraphBuilder b = new SubgraphBuilder("attention");
            Value q = b.input("q", DType.F32, Shape.of(g.rows(), g.qWidth()));
            Value k = b.input("k", DType.F32, Shape.of(g.rows(), g.kvWidth()));
            Value v = b.input("v", DType.F32, Shape.of(g.rows(), g.kvWidth()));
            Value pos = b.input("pos", DType.I32, Shape.of(g.rows()));
            Value kc = b.input("kCache", DType.F32, Shape.of(g.context(), g.kvWidth()));
            Value vc = b.input("vCache", DType.F32, Shape.of(g.context(), g.kvWidth()));
            Value out = b.value("out", DType.F32, Shape.of(g.rows(), g.qWidth()));
            b.add(new Op.Attention(q, k, v, pos, kc, vc, g.heads(), g.kvHeads(), g.headDim(), out));
            b.output(out);
            return new AttentionGraph(backend.devices().getFirst().compile(b.build()), q, k, v, pos, kc, vc, out);
        }

        void run(Tensor tq, Tensor tk, Tensor tv, Tensor tpos, Tensor tkc, Tensor tvc, Tensor tout) {
            compiled.execute(Map.of(q, tq, k, tk, v, tv, pos, tpos, kCache, tkc, vCache, tvc, out, tout));
        }

        @Override
        public void close() {
            compiled.close();
        }
    }

    static Stream<Arguments> cases() {
        Random rnd = new Random(4242);
        List<Arguments> cases = new ArrayList<>();
        int[] ratios = {1, 2, 4};
        for (int ratio : ratios) {
            for (int i = 0; i < 6; i++) {
                int kvHeads = 1 + rnd.nextInt(3);
                int headDim = i % 2 == 0 ? 1 + rnd.nextInt(40) : 16 * (1 + rnd.nextInt(4));
                int rows = i < 2 ? 1 : 1 + rnd.nextInt(7);
                int context = rows + 1 + rnd.nextInt(30);
                cases.add(Arguments.of(rows, kvHeads * ratio, kvHeads, headDim, context, rnd.nextLong()));
            }
        }
        return cases.stream();
    }

    /**
     * Prefill-sized batches (the tiled path): head dims from 1 to 128 (whole vectors, partial vectors and
     * less than one), group sizes that do and do not fill a query tile, contexts longer than one score
     * tile, padding rows.
     */
    static Stream<Arguments> batchedCases() {
        Random rnd = new Random(8686);
        List<Arguments> cases = new ArrayList<>();
        int[][] shapes = {
            // rows, heads, kvHeads, headDim, context
            {8, 4, 4, 1, 9}, {9, 8, 2, 8, 40}, {13, 6, 2, 17, 70}, {20, 8, 1, 64, 150}, {11, 3, 3, 100, 30},
            {16, 4, 2, 128, 200}, {40, 12, 4, 24, 64}, {8, 32, 4, 64, 8}, {33, 2, 2, 33, 100}};
        for (int[] s : shapes) {
            cases.add(Arguments.of(s[0], s[1], s[2], s[3], s[4], rnd.nextLong()));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "T={0} heads={1} kvHeads={2} headDim={3} context={4}")
    @MethodSource("batchedCases")
    void batchedMatchesReference(int rows, int heads, int kvHeads, int headDim, int context, long seed) {
        matchesReference(rows, heads, kvHeads, headDim, context, seed);
    }

    /** The tiled path (one 20-row prefill) agrees with 20 single-row decode steps to rounding. */
    @Test
    void batchedPrefillAgreesWithDecodeSteps() {
        Random rnd = new Random(123);
        int rows = 20;
        Geometry prefill = new Geometry(rows, 8, 2, 40, 24);
        Geometry decode = new Geometry(1, 8, 2, 40, 24);
        float[] q = TestData.floats(rnd, rows * prefill.qWidth(), 2f);
        float[] k = TestData.floats(rnd, rows * prefill.kvWidth(), 2f);
        float[] v = TestData.floats(rnd, rows * prefill.kvWidth(), 2f);
        Shape cacheShape = Shape.of(prefill.context(), prefill.kvWidth());
        try (Arena arena = Arena.ofShared();
             AttentionGraph all = AttentionGraph.compile(prefill);
             AttentionGraph one = AttentionGraph.compile(decode)) {
            Tensor outA = Tensor.allocate(arena, "outA", DType.F32, Shape.of(rows, prefill.qWidth()));
            int[] positions = new int[rows];
            Arrays.setAll(positions, t -> t);
            all.run(TestData.f32(arena, "q", Shape.of(rows, prefill.qWidth()), q),
                    TestData.f32(arena, "k", Shape.of(rows, prefill.kvWidth()), k),
                    TestData.f32(arena, "v", Shape.of(rows, prefill.kvWidth()), v),
                    TestData.i32(arena, "pos", positions), Tensor.allocate(arena, "kA", DType.F32, cacheShape),
                    Tensor.allocate(arena, "vA", DType.F32, cacheShape), outA);
            Tensor kcB = Tensor.allocate(arena, "kB", DType.F32, cacheShape);
            Tensor vcB = Tensor.allocate(arena, "vB", DType.F32, cacheShape);
            double[] outB = new double[rows * decode.qWidth()];
            for (int t = 0; t < rows; t++) {
                Tensor out = Tensor.allocate(arena, "out", DType.F32, Shape.of(1, decode.qWidth()));
                one.run(TestData.f32(arena, "q", Shape.of(1, decode.qWidth()),
                                Arrays.copyOfRange(q, t * decode.qWidth(), (t + 1) * decode.qWidth())),
                        TestData.f32(arena, "k", Shape.of(1, decode.kvWidth()),
                                Arrays.copyOfRange(k, t * decode.kvWidth(), (t + 1) * decode.kvWidth())),
                        TestData.f32(arena, "v", Shape.of(1, decode.kvWidth()),
                                Arrays.copyOfRange(v, t * decode.kvWidth(), (t + 1) * decode.kvWidth())),
                        TestData.i32(arena, "pos", t), kcB, vcB, out);
                float[] o = TestData.read(out);
                for (int i = 0; i < o.length; i++) {
                    outB[t * decode.qWidth() + i] = o[i];
                }
            }
            TestData.assertClose(outB, TestData.read(outA), 1e-5, "tiled prefill vs decode steps");
        }
    }

    /** Tiles are shared out by the pool; the thread count must not change a bit of the result. */
    @Test
    void batchedIsIndependentOfThreadCount() {
        Random rnd = new Random(31);
        Geometry g = new Geometry(37, 12, 4, 48, 80);
        int[] positions = new int[g.rows()];
        Arrays.setAll(positions, t -> t % 9 == 4 ? -1 : 20 + t);
        float[] q = TestData.floats(rnd, g.rows() * g.qWidth(), 2f);
        float[] k = TestData.floats(rnd, g.rows() * g.kvWidth(), 2f);
        float[] v = TestData.floats(rnd, g.rows() * g.kvWidth(), 2f);
        float[] cache = TestData.floats(rnd, g.context() * g.kvWidth(), 2f);
        float[][] results = new float[2][];
        int[] threads = {1, 4};
        for (int i = 0; i < 2; i++) {
            try (Arena arena = Arena.ofShared(); CpuBackend b = new CpuBackend(new BackendOptions(threads[i]))) {
                SubgraphBuilder sb = new SubgraphBuilder("attention");
                Value vq = sb.input("q", DType.F32, Shape.of(g.rows(), g.qWidth()));
                Value vk = sb.input("k", DType.F32, Shape.of(g.rows(), g.kvWidth()));
                Value vv = sb.input("v", DType.F32, Shape.of(g.rows(), g.kvWidth()));
                Value vpos = sb.input("pos", DType.I32, Shape.of(g.rows()));
                Value kc = sb.input("kCache", DType.F32, Shape.of(g.context(), g.kvWidth()));
                Value vc = sb.input("vCache", DType.F32, Shape.of(g.context(), g.kvWidth()));
                Value out = sb.value("out", DType.F32, Shape.of(g.rows(), g.qWidth()));
                sb.add(new Op.Attention(vq, vk, vv, vpos, kc, vc, g.heads(), g.kvHeads(), g.headDim(), out));
                sb.output(out);
                Tensor tout = Tensor.allocate(arena, "out", DType.F32, out.shape());
                try (CompiledGraph cg = b.devices().getFirst().compile(sb.build())) {
                    cg.execute(Map.of(vq, TestData.f32(arena, "q", vq.shape(), q),
                            vk, TestData.f32(arena, "k", vk.shape(), k), vv, TestData.f32(arena, "v", vv.shape(), v),
                            vpos, TestData.i32(arena, "pos", positions),
                            kc, TestData.f32(arena, "kc", kc.shape(), cache),
                            vc, TestData.f32(arena, "vc", vc.shape(), cache), out, tout));
                }
                results[i] = TestData.read(tout);
            }
        }
        assertArrayEquals(results[0], results[1], "attention on 1 and 4 threads");
    }

    /** Rows continue an earlier sequence already in the cache; some rows are padding. */
    @ParameterizedTest(name = "T={0} heads={1} kvHeads={2} headDim={3} context={4}")
    @MethodSource("cases")
    void matchesReference(int rows, int heads, int kvHeads, int headDim, int context, long seed) {
        Random rnd = new Random(seed);
        Geometry g = new Geometry(rows, heads, kvHeads, headDim, context);
        int start = rnd.nextInt(context - rows + 1);
        int[] positions = new int[rows];
        for (int t = 0; t < rows; t++) {
            positions[t] = rows > 1 && rnd.nextInt(4) == 0 ? -1 : start + t;
        }
        float[] q = TestData.floats(rnd, rows * g.qWidth(), 2f);
        float[] k = TestData.floats(rnd, rows * g.kvWidth(), 2f);
        float[] v = TestData.floats(rnd, rows * g.kvWidth(), 2f);
        float[] kCache = TestData.floats(rnd, context * g.kvWidth(), 2f);
        float[] vCache = TestData.floats(rnd, context * g.kvWidth(), 2f);
        float[] expectedK = kCache.clone();
        float[] expectedV = vCache.clone();
        double[] expected = Reference.attention(q, k, v, positions, expectedK, expectedV, rows, heads, kvHeads,
                headDim);

        try (Arena arena = Arena.ofShared(); AttentionGraph graph = AttentionGraph.compile(g)) {
            Tensor kc = TestData.f32(arena, "kCache", Shape.of(context, g.kvWidth()), kCache);
            Tensor vc = TestData.f32(arena, "vCache", Shape.of(context, g.kvWidth()), vCache);
            Tensor out = Tensor.allocate(arena, "out", DType.F32, Shape.of(rows, g.qWidth()));
            graph.run(TestData.f32(arena, "q", Shape.of(rows, g.qWidth()), q),
                    TestData.f32(arena, "k", Shape.of(rows, g.kvWidth()), k),
                    TestData.f32(arena, "v", Shape.of(rows, g.kvWidth()), v),
                    TestData.i32(arena, "pos", positions), kc, vc, out);
            TestData.assertClose(expected, TestData.read(out), 1e-4, "attention");
            assertArrayEquals(expectedK, TestData.read(kc), "key cache after attention");
            assertArrayEquals(expectedV, TestData.read(vc), "value cache after attention");
        }
    }

    /** T decode steps at positions 0..T-1 and one T-row prefill give the same outputs and caches. */
    @Test
    void decodeStepsEqualPrefill() {
        Random rnd = new Random(99);
        int rows = 7;
        Geometry prefill = new Geometry(rows, 8, 2, 24, 12);
        Geometry decode = new Geometry(1, 8, 2, 24, 12);
        float[] q = TestData.floats(rnd, rows * prefill.qWidth(), 2f);
        float[] k = TestData.floats(rnd, rows * prefill.kvWidth(), 2f);
        float[] v = TestData.floats(rnd, rows * prefill.kvWidth(), 2f);
        Shape cacheShape = Shape.of(prefill.context(), prefill.kvWidth());
        try (Arena arena = Arena.ofShared();
             AttentionGraph all = AttentionGraph.compile(prefill);
             AttentionGraph one = AttentionGraph.compile(decode)) {
            Tensor kcA = Tensor.allocate(arena, "kA", DType.F32, cacheShape);
            Tensor vcA = Tensor.allocate(arena, "vA", DType.F32, cacheShape);
            Tensor outA = Tensor.allocate(arena, "outA", DType.F32, Shape.of(rows, prefill.qWidth()));
            int[] positions = new int[rows];
            Arrays.setAll(positions, t -> t);
            all.run(TestData.f32(arena, "q", Shape.of(rows, prefill.qWidth()), q),
                    TestData.f32(arena, "k", Shape.of(rows, prefill.kvWidth()), k),
                    TestData.f32(arena, "v", Shape.of(rows, prefill.kvWidth()), v),
                    TestData.i32(arena, "pos", positions), kcA, vcA, outA);

            Tensor kcB = Tensor.allocate(arena, "kB", DType.F32, cacheShape);
            Tensor vcB = Tensor.allocate(arena, "vB", DType.F32, cacheShape);
            float[] outB = new float[rows * prefill.qWidth()];
            for (int t = 0; t < rows; t++) {
                Tensor out = Tensor.allocate(arena, "out", DType.F32, Shape.of(1, decode.qWidth()));
                one.run(TestData.f32(arena, "q", Shape.of(1, decode.qWidth()),
                                Arrays.copyOfRange(q, t * decode.qWidth(), (t + 1) * decode.qWidth())),
                        TestData.f32(arena, "k", Shape.of(1, decode.kvWidth()),
                                Arrays.copyOfRange(k, t * decode.kvWidth(), (t + 1) * decode.kvWidth())),
                        TestData.f32(arena, "v", Shape.of(1, decode.kvWidth()),
                                Arrays.copyOfRange(v, t * decode.kvWidth(), (t + 1) * decode.kvWidth())),
                        TestData.i32(arena, "pos", t), kcB, vcB, out);
                System.arraycopy(TestData.read(out), 0, outB, t * decode.qWidth(), decode.qWidth());
            }
            assertArrayEquals(TestData.read(outA), outB, 1e-6f, "prefill and decode outputs");
            assertArrayEquals(TestData.read(kcA), TestData.read(kcB), "key caches");
            assertArrayEquals(TestData.read(vcA), TestData.read(vcB), "value caches");
        }
    }

    /** Padding rows write nothing to the caches and produce zeros. */
    @Test
    void paddingRowsNeverTouchTheCache() {
        Random rnd = new Random(7);
        Geometry g = new Geometry(4, 4, 2, 8, 6);
        int[] positions = {0, -1, 1, -5};
        float sentinel = 42f;
        float[] filled = new float[g.context() * g.kvWidth()];
        Arrays.fill(filled, sentinel);
        float[] k = TestData.floats(rnd, g.rows() * g.kvWidth(), 1f);
        float[] v = TestData.floats(rnd, g.rows() * g.kvWidth(), 1f);
        try (Arena arena = Arena.ofShared(); AttentionGraph graph = AttentionGraph.compile(g)) {
            Tensor kc = TestData.f32(arena, "kc", Shape.of(g.context(), g.kvWidth()), filled);
            Tensor vc = TestData.f32(arena, "vc", Shape.of(g.context(), g.kvWidth()), filled);
            Tensor out = TestData.f32(arena, "out", Shape.of(g.rows(), g.qWidth()),
                    TestData.floats(rnd, g.rows() * g.qWidth(), 9f));
            graph.run(TestData.f32(arena, "q", Shape.of(g.rows(), g.qWidth()),
                            TestData.floats(rnd, g.rows() * g.qWidth(), 1f)),
                    TestData.f32(arena, "k", Shape.of(g.rows(), g.kvWidth()), k),
                    TestData.f32(arena, "v", Shape.of(g.rows(), g.kvWidth()), v),
                    TestData.i32(arena, "pos", positions), kc, vc, out);
            float[] keys = TestData.read(kc);
            float[] values = TestData.read(vc);
            int w = g.kvWidth();
            assertArrayEquals(Arrays.copyOfRange(k, 0, w), Arrays.copyOfRange(keys, 0, w), "row 0 -> position 0");
            assertArrayEquals(Arrays.copyOfRange(k, 2 * w, 3 * w), Arrays.copyOfRange(keys, w, 2 * w),
                    "row 2 -> position 1");
            assertArrayEquals(Arrays.copyOfRange(v, 2 * w, 3 * w), Arrays.copyOfRange(values, w, 2 * w),
                    "row 2 -> position 1");
            for (int i = 2 * w; i < keys.length; i++) {
                assertEquals(sentinel, keys[i], "key cache slot " + i + " must stay untouched");
                assertEquals(sentinel, values[i], "value cache slot " + i + " must stay untouched");
            }
            float[] o = TestData.read(out);
            for (int row : new int[] {1, 3}) {
                for (int i = 0; i < g.qWidth(); i++) {
                    assertEquals(0f, o[row * g.qWidth() + i], "padding row " + row + " output");
                }
            }
        }
    }
}
