package io.llmnpu.backend.npu.reference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Int8Weights;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** QuantizedLinear on the reference NPU against the scalar definition of the op, over random shapes. */
class QuantizedLinearTest {

    private static ReferenceNpuBackend npu;
    private static ReferenceNpuBackend npuTwoCores;

    @BeforeAll
    static void start() {
        npu = new ReferenceNpuBackend(new NpuSettings(1, null));
        npuTwoCores = new ReferenceNpuBackend(new NpuSettings(2, null));
    }

    @AfterAll
    static void stop() {
        npu.close();
        npuTwoCores.close();
    }

    static Stream<Arguments> shapes() {
        Random rnd = new Random(4242);
        List<Arguments> cases = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            int tokens = i < 3 ? 1 : 1 + rnd.nextInt(13);
            int cols = 1 + rnd.nextInt(i % 4 == 0 ? 700 : 90);
            int rows = 1 + rnd.nextInt(70);
            cases.add(Arguments.of(tokens, rows, cols, rnd.nextBoolean(), rnd.nextBoolean(), rnd.nextLong()));
        }
        return cases.stream();
    }

    /**
     * Dequantized outputs equal acc * (inputScale * weightScale) with the exact INT32 accumulators; inputs
     * reach 4x the clip range, so saturation of the activation codes is part of every case.
     */
    @ParameterizedTest(name = "T={0} rows={1} cols={2} perChannel={3} twoCores={4}")
    @MethodSource("shapes")
    void dequantizedOutputsMatchDefinition(int tokens, int rows, int cols, boolean perChannel, boolean twoCores,
                                           long seed) {
        Random rnd = new Random(seed);
        try (Arena arena = Arena.ofShared()) {
            Int8Weights w = Int8Fixtures.weights(arena, "w", rows, cols, perChannel, rnd);
            float inputScale = 0.01f;
            Tensor x = Int8Fixtures.floats(arena, "x", Shape.of(tokens, cols), rnd, 127 * inputScale);
            Tensor y = Tensor.allocate(arena, "y", DType.F32, Shape.of(tokens, rows));
            Int8Fixtures.run((twoCores ? npuTwoCores : npu).devices().getFirst(),
                    Int8Fixtures.singleLinear(tokens, w, inputScale, 0f), x, y);
            long[][] acc = Int8Fixtures.accumulators(x, w, inputScale);
            for (int t = 0; t < tokens; t++) {
                for (int r = 0; r < rows; r++) {
                    float expected = (float) acc[t][r] * (inputScale * w.scale(r));
                    float actual = y.getFloat((long) t * rows + r);
                    assertEquals(expected, actual, Math.ulp(expected), "token " + t + " row " + r);
                }
            }
        }
    }

    /** Requantized outputs are within one INT16 step of round(acc * multiplier), and saturate at +-32767. */
    @ParameterizedTest(name = "T={0} rows={1} cols={2} perChannel={3}")
    @MethodSource("shapes")
    void requantizedOutputsMatchDefinition(int tokens, int rows, int cols, boolean perChannel, boolean twoCores,
                                           long seed) {
        Random rnd = new Random(seed);
        try (Arena arena = Arena.ofShared()) {
            Int8Weights w = Int8Fixtures.weights(arena, "w", rows, cols, perChannel, rnd);
            float inputScale = 0.02f;
            Tensor x = Int8Fixtures.floats(arena, "x", Shape.of(tokens, cols), rnd, 60 * inputScale);
            long[][] acc = Int8Fixtures.accumulators(x, w, inputScale);
            double biggest = 1;
            for (long[] row : acc) {
                for (int r = 0; r < rows; r++) {
                    biggest = Math.max(biggest, Math.abs(row[r] * (double) inputScale * w.scale(r)));
                }
            }
            // An output scale that covers only 70% of the largest output, so the top outputs saturate.
            float outputScale = (float) (0.7 * biggest / Op.QuantizedLinear.OUTPUT_LIMIT);
            Tensor y = Tensor.allocate(arena, "y", DType.F32, Shape.of(tokens, rows));
            Int8Fixtures.run((twoCores ? npuTwoCores : npu).devices().getFirst(),
                    Int8Fixtures.singleLinear(tokens, w, inputScale, outputScale), x, y);
            int saturated = 0;
            for (int t = 0; t < tokens; t++) {
                for (int r = 0; r < rows; r++) {
                    double exact = acc[t][r] * (double) inputScale * w.scale(r) / outputScale;
                    double code = Math.max(-32767, Math.min(32767, Math.rint(exact)));
                    float actual = y.getFloat((long) t * rows + r);
                    double actualCode = actual / outputScale;
                    assertEquals(code, actualCode, 1.001, "token " + t + " row " + r);
                    if (Math.abs(exact) > 32767) {
                        saturated++;
                        assertEquals(Op.QuantizedLinear.OUTPUT_LIMIT * outputScale, Math.abs(actual), 0f);
                    }
                }
            }
            assertTrue(saturated > 0, "the output scale was chosen so that some outputs saturate");
        }
    }

    /** Three layers reading one input share its quantization and each still gets its own result. */
    @Test
    void layersSharingAnInputEachMatch() {
        Random rnd = new Random(3);
        try (Arena arena = Arena.ofShared()) {
            int tokens = 6;
            int cols = 48;
            var b = new io.llmnpu.api.graph.SubgraphBuilder("qkv");
            var x = b.input("x", DType.F32, Shape.of(tokens, cols));
            List<Int8Weights> ws = new ArrayList<>();
            List<io.llmnpu.api.graph.Value> outs = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                Int8Weights w = Int8Fixtures.weights(arena, "w" + i, 20 + i * 8, cols, i == 1, rnd);
                var y = b.value("y" + i, DType.F32, Shape.of(tokens, w.rows()));
                b.add(new Op.QuantizedLinear(x, w, 0.03f, y));
                b.output(y);
                ws.add(w);
                outs.add(y);
            }
            var g = b.build();
            Tensor xt = Int8Fixtures.floats(arena, "x", Shape.of(tokens, cols), rnd, 1f);
            java.util.Map<io.llmnpu.api.graph.Value, Tensor> bindings = new java.util.HashMap<>();
            bindings.put(x, xt);
            List<Tensor> ys = new ArrayList<>();
            for (var y : outs) {
                Tensor t = Tensor.allocate(arena, y.name(), DType.F32, y.shape());
                bindings.put(y, t);
                ys.add(t);
            }
            try (var c = npu.devices().getFirst().compile(g)) {
                c.execute(bindings);
            }
            for (int i = 0; i < 3; i++) {
                long[][] acc = Int8Fixtures.accumulators(xt, ws.get(i), 0.03f);
                for (int t = 0; t < tokens; t++) {
                    for (int r = 0; r < ws.get(i).rows(); r++) {
                        assertEquals((float) acc[t][r] * (0.03f * ws.get(i).scale(r)),
                                ys.get(i).getFloat((long) t * ws.get(i).rows() + r), 1e-6f);
                    }
                }
            }
        }
    }
}
