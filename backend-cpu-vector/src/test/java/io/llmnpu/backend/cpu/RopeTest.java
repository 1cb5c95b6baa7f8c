package io.llmnpu.backend.cpu;

import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.RopeStyle;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** RoPE in both pairing styles, partial rotation and padding rows, against the scalar reference. */
class RopeTest {

    private static CpuBackend backend;

    @BeforeAll
    static void start() {
        backend = new CpuBackend(new BackendOptions(3));
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    static Stream<Arguments> cases() {
        Random rnd = new Random(8675309);
        List<Arguments> cases = new ArrayList<>();
        for (RopeStyle style : RopeStyle.values()) {
            for (int i = 0; i < 10; i++) {
                int headDim = 2 * (1 + rnd.nextInt(12));
                // Every other case rotates only part of each head.
                int rotaryDims = i % 2 == 0 ? headDim : 2 * (1 + rnd.nextInt(headDim / 2));
                int heads = 1 + rnd.nextInt(5);
                int rows = i < 2 ? 1 : 1 + rnd.nextInt(9);
                float theta = rnd.nextBoolean() ? 10000f : 1_000_000f;
                cases.add(Arguments.of(style, rows, heads, headDim, rotaryDims, theta, rnd.nextLong()));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} T={1} heads={2} headDim={3} rot={4} theta={5}")
    @MethodSource("cases")
    void matchesReference(RopeStyle style, int rows, int heads, int headDim, int rotaryDims, float theta, long seed) {
        Random rnd = new Random(seed);
        int width = heads * headDim;
        int[] positions = new int[rows];
        for (int t = 0; t < rows; t++) {
            positions[t] = rnd.nextInt(6) == 0 ? -1 : rnd.nextInt(4096);
        }
        float[] x = TestData.floats(rnd, rows * width, 2f);
        float[] out = run(style, rows, width, headDim, rotaryDims, theta, x, positions);
        TestData.assertClose(Reference.rope(x, rows, width, positions, headDim, rotaryDims, theta, style), out, 1e-4,
                style + " rope");
    }

    @Test
    void paddingRowsAndPositionZeroPassThroughUnchanged() {
        Random rnd = new Random(3);
        float[] x = TestData.floats(rnd, 3 * 16, 1f);
        float[] out = run(RopeStyle.NEOX, 3, 16, 8, 8, 10000f, x, new int[] {-1, 0, -7});
        assertArrayEquals(x, out, "rows at position 0 rotate by 0 and padding rows are copied");
    }

    private static float[] run(RopeStyle style, int rows, int width, int headDim, int rotaryDims, float theta,
                               float[] x, int[] positions) {
        try (Arena arena = Arena.ofShared()) {
            Shape shape = Shape.of(rows, width);
            Map<String, Tensor> t = Map.of(
                    "x", TestData.f32(arena, "x", shape, x),
                    "pos", TestData.i32(arena, "pos", positions),
                    "y", Tensor.allocate(arena, "y", DType.F32, shape));
            SingleOpGraphs.run(backend, b -> new Op.Rope(b.input("x", DType.F32, shape),
                    b.input("pos", DType.I32, Shape.of(rows)), headDim, rotaryDims, theta, style,
                    b.value("y", DType.F32, shape)), t);
            return TestData.read(t.get("y"));
        }
    }
}
