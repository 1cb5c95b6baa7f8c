package io.llmnpu.backend.cpu.onednn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.Affinity;
import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Int8Weights;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.backend.npu.reference.NpuSettings;
import io.llmnpu.backend.npu.reference.ReferenceNpuBackend;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * QuantizedLinear, the NPU path's W8A8 layer, on the CPU's int8 units gives exactly the reference
 * NPU's outputs, bit for bit: same activation codes (saturation and rounding ties included), exact
 * INT32 sums, and the same output stage with and without INT16 requantization.
 */
class NpuParityTest {

    private static Backend nativeCpu;
    private static Backend npuRef;

    @BeforeAll
    static void open() {
        nativeCpu = NativeBackends.open(NativeSettings.configured());
        npuRef = new ReferenceNpuBackend(new NpuSettings(2, null));
    }

    @AfterAll
    static void close() {
        if (nativeCpu != null) {
            nativeCpu.close();
        }
        if (npuRef != null) {
            npuRef.close();
        }
    }

    static Stream<Arguments> layers() {
        return Stream.of(
                Arguments.of(1, 64, 16, true, false),
                Arguments.of(3, 97, 33, false, false),
                Arguments.of(7, 131, 65, true, true),
                Arguments.of(16, 256, 48, false, true),
                Arguments.of(64, 1024 + 37, 200, true, true),
                Arguments.of(256, 512, 96, true, false),
                Arguments.of(33, 2048, 17, true, true));
    }

    @ParameterizedTest(name = "[{0}x{1}] -> {2}, per-channel {3}, requantized {4}")
    @MethodSource("layers")
    void outputsAreBitIdenticalToTheReferenceNpu(int tokens, int in, int out, boolean perChannel, boolean requantize) {
        Random random = new Random(31L * tokens + in + out + (perChannel ? 7 : 0) + (requantize ? 13 : 0));
        try (Arena arena = Arena.ofShared()) {
            MemorySegment codes = arena.allocate((long) out * in);
            for (long i = 0; i < codes.byteSize(); i++) {
                codes.set(ValueLayout.JAVA_BYTE, i, (byte) (random.nextInt(255) - 127));
            }
            float[] scales = new float[perChannel ? out : 1];
            for (int r = 0; r < scales.length; r++) {
                scales[r] = (float) (0.01 + 0.02 * random.nextDouble());
            }
            Int8Weights w = new Int8Weights("w", Shape.of(out, in), codes, scales);
            float inputScale = 0.9f / 127;
            // The saturation limit near 1.5 standard deviations of the outputs: some saturate, most do not.
            float outputScale = requantize
                    ? (float) (1.5 * 73 * 73 * Math.sqrt(in) * inputScale * 0.02 * 0.75 / Op.QuantizedLinear.OUTPUT_LIMIT)
                    : 0f;
            SubgraphBuilder b = new SubgraphBuilder("w8a8");
            Value x = b.input("x", DType.F32, Shape.of(tokens, in));
            Value y = b.value("y", DType.F32, Shape.of(tokens, out));
            Op op = b.add(new Op.QuantizedLinear(x, w, inputScale, outputScale, y));
            b.output(y);
            Subgraph graph = b.build();
            assertEquals(Affinity.Support.NATIVE, nativeCpu.devices().getFirst().affinity(op).support());

            Tensor input = Tensor.allocate(arena, "x", DType.F32, x.shape());
            for (long i = 0; i < x.shape().elements(); i++) {
                float v = switch ((int) (i % 5)) {
                    case 0 -> (random.nextInt(200) - 100 + 0.5f) * inputScale; // a rounding tie
                    case 1 -> (float) (random.nextDouble() * 2 - 1) * 1.5f; // beyond the clip range of 0.9
                    default -> (float) (random.nextDouble() * 2 - 1) * 0.9f;
                };
                input.data().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, v);
            }
            float[] expected = NativeBackends.run(npuRef.devices().getFirst(), graph, input, arena);
            float[] actual = NativeBackends.run(nativeCpu.devices().getFirst(), graph, input, arena);
            int saturated = 0;
            for (int i = 0; i < expected.length; i++) {
                assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(actual[i]),
                        "output " + i + ": npu-ref " + expected[i] + ", cpu-native " + actual[i]);
                if (requantize && Math.abs(expected[i]) >= op(graph).saturationLimit()) {
                    saturated++;
                }
            }
            assertTrue(!requantize || saturated > 0 || expected.length < 64, "some requantized outputs saturate");
        }
    }

    /**
     * Three layers on one input, as q, k and v are: one ingress and one matmul over their stacked weights,
     * each with its own scales and output stage (one dequantized, two requantized with different scales).
     */
    @Test
    void layersSharingAnInputAreBitIdenticalToo() {
        Random random = new Random(99);
        int tokens = 24;
        int in = 160;
        int[] outs = {64, 16, 16};
        float[] outputScales = {0f, 0.004f, 0.0007f};
        try (Arena arena = Arena.ofShared()) {
            SubgraphBuilder b = new SubgraphBuilder("qkv");
            Value x = b.input("x", DType.F32, Shape.of(tokens, in));
            float inputScale = 1f / 127;
            for (int i = 0; i < outs.length; i++) {
                MemorySegment codes = arena.allocate((long) outs[i] * in);
                for (long j = 0; j < codes.byteSize(); j++) {
                    codes.set(ValueLayout.JAVA_BYTE, j, (byte) (random.nextInt(255) - 127));
                }
                float[] scales = new float[outs[i]];
                for (int r = 0; r < scales.length; r++) {
                    scales[r] = (float) (0.01 + 0.02 * random.nextDouble());
                }
                Value y = b.value("y" + i, DType.F32, Shape.of(tokens, outs[i]));
                b.add(new Op.QuantizedLinear(x, new Int8Weights("w" + i, Shape.of(outs[i], in), codes, scales), inputScale,
                        outputScales[i], y));
                b.output(y);
            }
            Subgraph graph = b.build();
            Tensor input = Tensor.allocate(arena, "x", DType.F32, x.shape());
            for (long i = 0; i < x.shape().elements(); i++) {
                input.data().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) (random.nextGaussian() * 0.5));
            }
            float[][] expected = runAll(npuRef, graph, input, arena);
            float[][] actual = runAll(nativeCpu, graph, input, arena);
            for (int o = 0; o < outs.length; o++) {
                for (int i = 0; i < expected[o].length; i++) {
                    assertEquals(Float.floatToRawIntBits(expected[o][i]), Float.floatToRawIntBits(actual[o][i]),
                            "output " + o + " value " + i);
                }
            }
        }
    }

    private static float[][] runAll(Backend backend, Subgraph graph, Tensor x, Arena arena) {
        Map<Value, Tensor> bindings = new HashMap<>();
        bindings.put(graph.inputs().getFirst(), x);
        for (Value out : graph.outputs()) {
            bindings.put(out, Tensor.allocate(arena, out.name(), DType.F32, out.shape()));
        }
        try (CompiledGraph compiled = backend.devices().getFirst().compile(graph)) {
            compiled.execute(bindings);
        }
        return graph.outputs().stream().map(v -> bindings.get(v).toFloatArray()).toArray(float[][]::new);
    }

    private static Op.QuantizedLinear op(Subgraph graph) {
        return (Op.QuantizedLinear) graph.ops().getFirst();
    }
}
