package io.llmnpu.backend.cpu;

import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;

/** RmsNorm, SiluMul, Add and SelectRow against the scalar reference over random shapes. */
class ElementwiseOpsTest {

    private static CpuBackend backend;

    @BeforeAll
    static void start() {
        backend = new CpuBackend(new BackendOptions(3));
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    private static int[] randomShape(Random rnd, int repetition) {
        // Mostly odd widths that are no multiple of the vector width; one large case to cross chunk borders.
        int rows = repetition % 3 == 0 ? 1 : 1 + rnd.nextInt(9);
        int width = repetition == 1 ? 20001 : 1 + rnd.nextInt(200);
        return new int[] {rows, width};
    }

    @RepeatedTest(12)
    void rmsNorm(RepetitionInfo info) {
        Random rnd = new Random(1000 + info.getCurrentRepetition());
        int[] s = randomShape(rnd, info.getCurrentRepetition());
        float eps = rnd.nextBoolean() ? 1e-5f : 1e-6f;
        try (Arena arena = Arena.ofShared()) {
            float[] x = TestData.floats(rnd, s[0] * s[1], 3f);
            float[] w = TestData.floats(rnd, s[1], 2f);
            Tensor weight = TestData.f32(arena, "norm", Shape.of(s[1]), w);
            Tensor in = TestData.f32(arena, "x", Shape.of(s), x);
            Tensor out = Tensor.allocate(arena, "y", DType.F32, Shape.of(s));
            SingleOpGraphs.run(backend, b -> new Op.RmsNorm(b.input("x", DType.F32, Shape.of(s)), weight, eps,
                    b.value("y", DType.F32, Shape.of(s))), Map.of("x", in, "y", out));
            TestData.assertClose(Reference.rmsNorm(x, s[0], s[1], w, eps), TestData.read(out), 1e-4, "rmsnorm");
        }
    }

    @RepeatedTest(12)
    void siluMul(RepetitionInfo info) {
        Random rnd = new Random(2000 + info.getCurrentRepetition());
        int[] s = randomShape(rnd, info.getCurrentRepetition());
        try (Arena arena = Arena.ofShared()) {
            float[] gate = TestData.floats(rnd, s[0] * s[1], 12f);
            float[] up = TestData.floats(rnd, s[0] * s[1], 3f);
            Map<String, Tensor> t = Map.of(
                    "gate", TestData.f32(arena, "gate", Shape.of(s), gate),
                    "up", TestData.f32(arena, "up", Shape.of(s), up),
                    "y", Tensor.allocate(arena, "y", DType.F32, Shape.of(s)));
            SingleOpGraphs.run(backend, b -> new Op.SiluMul(b.input("gate", DType.F32, Shape.of(s)),
                    b.input("up", DType.F32, Shape.of(s)), b.value("y", DType.F32, Shape.of(s))), t);
            TestData.assertClose(Reference.siluMul(gate, up), TestData.read(t.get("y")), 1e-4, "silu*up");
        }
    }

    @RepeatedTest(12)
    void add(RepetitionInfo info) {
        Random rnd = new Random(3000 + info.getCurrentRepetition());
        int[] s = randomShape(rnd, info.getCurrentRepetition());
        try (Arena arena = Arena.ofShared()) {
            float[] a = TestData.floats(rnd, s[0] * s[1], 5f);
            float[] c = TestData.floats(rnd, s[0] * s[1], 5f);
            Map<String, Tensor> t = Map.of(
                    "a", TestData.f32(arena, "a", Shape.of(s), a),
                    "b", TestData.f32(arena, "b", Shape.of(s), c),
                    "y", Tensor.allocate(arena, "y", DType.F32, Shape.of(s)));
            SingleOpGraphs.run(backend, b -> new Op.Add(b.input("a", DType.F32, Shape.of(s)),
                    b.input("b", DType.F32, Shape.of(s)), b.value("y", DType.F32, Shape.of(s))), t);
            TestData.assertClose(Reference.add(a, c), TestData.read(t.get("y")), 1e-6, "add");
        }
    }

    @RepeatedTest(6)
    void selectRow(RepetitionInfo info) {
        Random rnd = new Random(4000 + info.getCurrentRepetition());
        int rows = 1 + rnd.nextInt(7);
        int width = 1 + rnd.nextInt(100);
        int row = rnd.nextInt(rows);
        // Alternate the two accepted output shapes: [1, width] and [width].
        Shape outShape = info.getCurrentRepetition() % 2 == 0 ? Shape.of(1, width) : Shape.of(width);
        try (Arena arena = Arena.ofShared()) {
            float[] x = TestData.floats(rnd, rows * width, 1f);
            Map<String, Tensor> t = Map.of(
                    "x", TestData.f32(arena, "x", Shape.of(rows, width), x),
                    "y", Tensor.allocate(arena, "y", DType.F32, outShape));
            SingleOpGraphs.run(backend, b -> {
                Value in = b.input("x", DType.F32, Shape.of(rows, width));
                return new Op.SelectRow(in, row, b.value("y", DType.F32, outShape));
            }, t);
            TestData.assertClose(Reference.selectRow(x, width, row), TestData.read(t.get("y")), 0, "select row");
        }
    }
}
