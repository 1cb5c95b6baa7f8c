package io.llmnpu.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/** Linear for every weight dtype against the scalar reference, over random shapes and token counts. */
class LinearTest {

    private static CpuBackend backend;

    @BeforeAll
    static void start() {
        backend = new CpuBackend(new BackendOptions(3));
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    /** Random shapes: odd widths that are no multiple of the vector width, one and several token rows. */
    static Stream<Arguments> cases() {
        Random rnd = new Random(20240611);
        List<Arguments> cases = new ArrayList<>();
        int[] tokenCounts = {1, 2, 3, 4, 5, 8, 11};
        for (DType dtype : new DType[] {DType.F32, DType.F16, DType.BF16, DType.Q8_0, DType.Q4_0}) {
            for (int i = 0; i < 10; i++) {
                int k = dtype.isQuantized() ? 32 * (1 + rnd.nextInt(12)) : 1 + rnd.nextInt(300);
                int n = 1 + rnd.nextInt(40);
                int tokens = i < 2 ? 1 : tokenCounts[rnd.nextInt(tokenCounts.length)];
                cases.add(Arguments.of(dtype, tokens, k, n, rnd.nextLong()));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} T={1} k={2} n={3}")
    @MethodSource("cases")
    void matchesReference(DType dtype, int tokens, int k, int n, long seed) {
        Random rnd = new Random(seed);
        try (Arena arena = Arena.ofShared()) {
            EncodedMatrix w = EncodedMatrix.random(arena, dtype, n, k, rnd);
            float[] x = TestData.floats(rnd, tokens * k, 2f);
            float[] out = run(arena, w.tensor(), x, tokens, k, n);
            TestData.assertClose(Reference.linear(w.values(), n, k, x, tokens), out, 1e-4,
                    dtype + " linear T=" + tokens + " k=" + k + " n=" + n);
        }
    }

    /**
     * The tiled GEMM path (from {@link LinearKernel#GEMM_MIN_ROWS} token rows) at sizes that are no
     * multiple of its tiles: T not a multiple of the token block or of the vector width, K not a multiple
     * of the K-block (nor, for 32-bit and 16-bit weights, of the vector width), N not a multiple of the
     * weight-row tile or of a panel, for every weight dtype.
     */
    static Stream<Arguments> gemmCases() {
        Random rnd = new Random(1357);
        List<Arguments> cases = new ArrayList<>();
        int[][] floatShapes = {{12, 129, 7}, {17, 300, 53}, {77, 1, 13}, {64, 131, 6}, {130, 200, 101}, {33, 16, 1}};
        int[][] quantShapes = {{12, 160, 7}, {17, 416, 53}, {77, 32, 13}, {64, 96, 6}, {130, 224, 101}, {33, 288, 1}};
        for (DType dtype : new DType[] {DType.F32, DType.F16, DType.BF16, DType.Q8_0, DType.Q4_0}) {
            for (int[] shape : dtype.isQuantized() ? quantShapes : floatShapes) {
                cases.add(Arguments.of(dtype, shape[0], shape[1], shape[2], rnd.nextLong()));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} T={1} k={2} n={3}")
    @MethodSource("gemmCases")
    void gemmMatchesReference(DType dtype, int tokens, int k, int n, long seed) {
        matchesReference(dtype, tokens, k, n, seed);
    }

    /** A panel boundary inside N, K-blocks and token blocks all at once, with long quantized rows. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "Q8_0", "Q4_0"})
    void gemmAcrossPanelsMatchesReference(DType dtype) {
        matchesReference(dtype, 70, 2048 + 64, 130, 99 + dtype.ordinal());
    }

    /** The scalar fallbacks serve CPUs without 8- or 16-lane vectors; they must agree with the reference too. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_0"})
    void scalarQuantizedPathMatchesReference(DType dtype) {
        Random rnd = new Random(77 + dtype.ordinal());
        int tokens = 6;
        int k = 160;
        int n = 9;
        try (Arena arena = Arena.ofShared()) {
            EncodedMatrix w = EncodedMatrix.random(arena, dtype, n, k, rnd);
            Tensor x = TestData.f32(arena, "x", Shape.of(tokens, k), TestData.floats(rnd, tokens * k, 1f));
            Tensor out = Tensor.allocate(arena, "out", DType.F32, Shape.of(tokens, n));
            if (dtype == DType.Q8_0) {
                Q8Matmul.scalarRows(w.tensor().data(), x.data(), out.data(), tokens, k, n, 0, n);
            } else {
                Q4Matmul.scalarRows(w.tensor().data(), x.data(), out.data(), tokens, k, n, 0, n);
            }
            TestData.assertClose(Reference.linear(w.values(), n, k, TestData.read(x), tokens), TestData.read(out),
                    1e-4, dtype + " scalar path");
        }
    }

    /** Large blocks of values near the limits of the quant range accumulate without losing precision. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_0"})
    void longQuantizedRowsStayAccurate(DType dtype) {
        Random rnd = new Random(5);
        int k = 4096;
        try (Arena arena = Arena.ofShared()) {
            EncodedMatrix w = EncodedMatrix.random(arena, dtype, 3, k, rnd);
            float[] x = TestData.floats(rnd, 5 * k, 1f);
            float[] out = run(arena, w.tensor(), x, 5, k, 3);
            TestData.assertClose(Reference.linear(w.values(), 3, k, x, 5), out, 1e-4, dtype + " k=4096");
        }
    }

    private static float[] run(Arena arena, Tensor weight, float[] x, int tokens, int k, int n) {
        SubgraphBuilder b = new SubgraphBuilder("linear");
        Value in = b.input("x", DType.F32, Shape.of(tokens, k));
        Value out = b.value("y", DType.F32, Shape.of(tokens, n));
        b.add(new Op.Linear(in, weight, out));
        b.output(out);
        Tensor xt = TestData.f32(arena, "x", in.shape(), x);
        Tensor yt = Tensor.allocate(arena, "y", DType.F32, out.shape());
        try (CompiledGraph g = backend.devices().getFirst().compile(b.build())) {
            g.execute(Map.of(in, xt, out, yt));
        }
        float[] result = TestData.read(yt);
        for (float v : result) {
            assertTrue(Float.isFinite(v), "linear produced a non-finite value");
        }
        return result;
    }
}
