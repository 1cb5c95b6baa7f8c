package io.llmnpu.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.Affinity;
import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Int8Weights;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.HashMap;
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

/** OutlierShadow and ShadowMerge against scalar double references; QuantizedLinear is refused. */
class OutlierShadowTest {

    private static CpuBackend backend;

    @BeforeAll
    static void start() {
        backend = new CpuBackend(new BackendOptions(2));
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    static Stream<Arguments> cases() {
        Random rnd = new Random(77);
        List<Arguments> cases = new ArrayList<>();
        for (DType dtype : new DType[] {DType.F32, DType.F16, DType.BF16, DType.Q8_0, DType.Q4_0}) {
            for (int i = 0; i < 6; i++) {
                int k = dtype.isQuantized() ? 32 * (1 + rnd.nextInt(8)) : 1 + rnd.nextInt(200);
                int n = 1 + rnd.nextInt(50);
                int tokens = 1 + rnd.nextInt(9);
                cases.add(Arguments.of(dtype, tokens, k, n, rnd.nextLong()));
            }
        }
        return cases.stream();
    }

    /**
     * Inputs have a few planted large values; the hot list covers only some of their channels, so both
     * the compact buffer and the fallback to the weight tensor are exercised.
     */
    @ParameterizedTest(name = "{0} T={1} k={2} n={3}")
    @MethodSource("cases")
    void shadowMatchesReference(DType dtype, int tokens, int k, int n, long seed) {
        Random rnd = new Random(seed);
        try (Arena arena = Arena.ofShared()) {
            EncodedMatrix w = EncodedMatrix.random(arena, dtype, n, k, rnd);
            float threshold = 1f;
            float[] x = TestData.floats(rnd, tokens * k, 0.99f);
            List<Integer> outlierChannels = new ArrayList<>();
            for (int i = 0; i < Math.max(1, k / 20); i++) {
                outlierChannels.add(rnd.nextInt(k));
            }
            for (int t = 0; t < tokens; t++) {
                for (int c : outlierChannels) {
                    if (rnd.nextInt(3) > 0) {
                        x[t * k + c] = (rnd.nextBoolean() ? 1 : -1) * (1.01f + 20 * rnd.nextFloat());
                    }
                }
            }
            int[] hot = outlierChannels.stream().distinct().filter(c -> c % 2 == 0).mapToInt(Integer::intValue).toArray();

            double[] expected = new double[tokens * n];
            for (int t = 0; t < tokens; t++) {
                for (int c = 0; c < k; c++) {
                    double v = x[t * k + c];
                    double excess = Math.abs(v) > threshold ? v - Math.signum(v) * threshold : 0;
                    for (int r = 0; r < n; r++) {
                        expected[t * n + r] += excess * w.values()[r * k + c];
                    }
                }
            }
            Tensor in = TestData.f32(arena, "x", Shape.of(tokens, k), x);
            Tensor out = Tensor.allocate(arena, "y", DType.F32, Shape.of(tokens, n));
            SingleOpGraphs.run(backend, b -> new Op.OutlierShadow(b.input("x", DType.F32, in.shape()), threshold,
                    w.tensor(), hot, b.value("y", DType.F32, out.shape())), Map.of("x", in, "y", out));
            TestData.assertClose(expected, TestData.read(out), 1e-5, dtype + " shadow");
        }
    }

    @Test
    void noOutliersGiveZero() {
        Random rnd = new Random(5);
        try (Arena arena = Arena.ofShared()) {
            EncodedMatrix w = EncodedMatrix.random(arena, DType.F32, 7, 40, rnd);
            Tensor in = TestData.f32(arena, "x", Shape.of(3, 40), TestData.floats(rnd, 120, 2f));
            Tensor out = TestData.f32(arena, "y", Shape.of(3, 7), TestData.floats(rnd, 21, 5f));
            SingleOpGraphs.run(backend, b -> new Op.OutlierShadow(b.input("x", DType.F32, in.shape()), 2.5f,
                    w.tensor(), new int[] {1, 2}, b.value("y", DType.F32, out.shape())), Map.of("x", in, "y", out));
            for (float v : TestData.read(out)) {
                assertEquals(0f, v);
            }
        }
    }

    /** Entries at the saturation limit are recomputed from the float weights; the rest are npu + shadow. */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.EnumSource(value = DType.class, names = {"F32", "Q8_0", "F16"})
    void mergeRepairsSaturatedOutputs(DType dtype) {
        Random rnd = new Random(dtype.ordinal());
        int tokens = 5;
        int k = 64;
        int n = 37;
        float limit = 3f;
        try (Arena arena = Arena.ofShared()) {
            EncodedMatrix w = EncodedMatrix.random(arena, dtype, n, k, rnd);
            float[] x = TestData.floats(rnd, tokens * k, 1f);
            float[] npu = TestData.floats(rnd, tokens * n, 2.9f);
            float[] shadow = TestData.floats(rnd, tokens * n, 1f);
            double[] expected = new double[tokens * n];
            for (int i = 0; i < npu.length; i++) {
                if (rnd.nextInt(10) == 0) {
                    npu[i] = rnd.nextBoolean() ? limit : -limit;
                }
            }
            for (int t = 0; t < tokens; t++) {
                for (int r = 0; r < n; r++) {
                    int i = t * n + r;
                    if (Math.abs(npu[i]) >= limit) {
                        double sum = 0;
                        for (int c = 0; c < k; c++) {
                            sum += w.values()[r * k + c] * x[t * k + c];
                        }
                        expected[i] = sum;
                    } else {
                        expected[i] = npu[i] + shadow[i];
                    }
                }
            }
            Map<String, Tensor> tensors = new HashMap<>();
            tensors.put("npu", TestData.f32(arena, "npu", Shape.of(tokens, n), npu));
            tensors.put("shadow", TestData.f32(arena, "shadow", Shape.of(tokens, n), shadow));
            tensors.put("x", TestData.f32(arena, "x", Shape.of(tokens, k), x));
            Tensor out = Tensor.allocate(arena, "y", DType.F32, Shape.of(tokens, n));
            tensors.put("y", out);
            SingleOpGraphs.run(backend, b -> new Op.ShadowMerge(b.input("npu", DType.F32, Shape.of(tokens, n)),
                    b.input("shadow", DType.F32, Shape.of(tokens, n)), b.input("x", DType.F32, Shape.of(tokens, k)),
                    w.tensor(), limit, b.value("y", DType.F32, Shape.of(tokens, n))), tensors);
            TestData.assertClose(expected, TestData.read(out), 1e-5, "merge " + dtype);
        }
    }

    @Test
    void quantizedLinearIsUnsupported() {
        try (Arena arena = Arena.ofConfined()) {
            SubgraphBuilder b = new SubgraphBuilder("q");
            Value x = b.input("x", DType.F32, Shape.of(2, 32));
            Value y = b.value("y", DType.F32, Shape.of(2, 8));
            Int8Weights w = new Int8Weights("w", Shape.of(8, 32), arena.allocate(256), new float[] {0.1f});
            Op op = b.add(new Op.QuantizedLinear(x, w, 0.05f, y));
            b.output(y);
            var device = backend.devices().getFirst();
            assertEquals(Affinity.Support.UNSUPPORTED, device.affinity(op).support());
            BackendException e = assertThrows(BackendException.class, () -> device.compile(b.build()));
            assertTrue(e.getMessage().contains("NPU"), e.getMessage());
        }
    }

    @Test
    void rejectsBadHotChannels() {
        try (Arena arena = Arena.ofShared()) {
            Tensor w = Tensor.allocate(arena, "w", DType.F32, Shape.of(4, 8));
            SubgraphBuilder b = new SubgraphBuilder("bad");
            Value x = b.input("x", DType.F32, Shape.of(1, 8));
            Value y = b.value("y", DType.F32, Shape.of(1, 4));
            b.add(new Op.OutlierShadow(x, 1f, w, new int[] {3, 8}, y));
            b.output(y);
            BackendException e = assertThrows(BackendException.class,
                    () -> backend.devices().getFirst().compile(b.build()));
            assertTrue(e.getMessage().contains("hot channel 8"), e.getMessage());
        }
    }
}
