package io.llmnpu.backend.vulkan;

import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.tck.ReferenceOps;
import io.llmnpu.tck.TensorDecoder;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Q4_K and Q6_K weights (the types of Q4_K_M files) on the device: random blocks decoded by the shaders
 * give the products and embedding rows the reference decoder gives, in the decode matvec (1 row), the
 * prefill matmul (9 rows) and with and without subgroups.
 */
class KQuantWeightsTest {

    @ParameterizedTest
    @CsvSource({"Q4_K, 1, true", "Q4_K, 9, true", "Q4_K, 9, false", "Q6_K, 1, true", "Q6_K, 9, true", "Q6_K, 1, false"})
    void productsAndEmbeddingsMatchTheReferenceDecoder(DType type, int tokens, boolean subgroups) {
        Random rnd = new Random(type.ordinal() * 31L + tokens);
        try (VulkanTestDevice vk = VulkanTestDevice.open(VulkanOptions.defaults().withCacheDir(VulkanTestDevice.TEST_CACHE)
                .withSubgroups(subgroups)); Arena arena = Arena.ofConfined()) {
            int k = 512;
            int n = 37;
            Tensor w = randomBlocks(arena, type, n, k, rnd);
            double[] wd = TensorDecoder.toDoubles(w);

            SubgraphBuilder b = new SubgraphBuilder("kquant-linear");
            Value x = b.input("x", DType.F32, Shape.of(tokens, k));
            Value y = b.add(new Op.Linear(x, w, b.value("y", DType.F32, Shape.of(tokens, n)))).out();
            b.output(y);
            Tensor xt = TestTensors.random(arena, "x", x.shape(), rnd);
            Tensor yt = Tensor.allocate(arena, "y", DType.F32, y.shape());
            try (CompiledGraph g = vk.device.compile(b.build())) {
                g.execute(Map.of(x, xt, y, yt));
            }
            TestTensors.assertClose(ReferenceOps.linear(TestTensors.values(xt), tokens, k, wd, n),
                    TestTensors.values(yt), 1e-4, type + " product, " + tokens + " rows");

            int[] ids = {0, 36, 5, 17};
            SubgraphBuilder e = new SubgraphBuilder("kquant-embedding");
            Value t = e.input("t", DType.I32, Shape.of(ids.length));
            Value rows = e.add(new Op.Embedding(t, w, e.value("rows", DType.F32, Shape.of(ids.length, k)))).out();
            e.output(rows);
            Tensor rowsT = Tensor.allocate(arena, "rows", DType.F32, rows.shape());
            try (CompiledGraph g = vk.device.compile(e.build())) {
                g.execute(Map.of(t, TestTensors.ints(arena, "t", ids), rows, rowsT));
            }
            TestTensors.assertClose(ReferenceOps.embedding(ids, wd, n, k), TestTensors.values(rowsT), 1e-6,
                    type + " embedding rows");
        }
    }

    /** Random quants and scales with finite, moderate F16 super-block scales. */
    private static Tensor randomBlocks(Arena arena, DType type, int rows, int cols, Random rnd) {
        Tensor w = Tensor.allocate(arena, "w", type, Shape.of(rows, cols));
        byte[] bytes = new byte[(int) w.byteSize()];
        rnd.nextBytes(bytes);
        MemorySegment data = w.data();
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, data, 0, bytes.length);
        for (long block = 0; block < bytes.length / type.blockBytes(); block++) {
            long at = block * type.blockBytes();
            if (type == DType.Q4_K) {
                data.set(ValueLayout.JAVA_SHORT_UNALIGNED, at, Float.floatToFloat16((float) (0.002 + 0.01 * rnd.nextDouble())));
                data.set(ValueLayout.JAVA_SHORT_UNALIGNED, at + 2, Float.floatToFloat16((float) (0.01 * rnd.nextDouble())));
            } else {
                data.set(ValueLayout.JAVA_SHORT_UNALIGNED, at + 208, Float.floatToFloat16((float) (0.002 + 0.01 * rnd.nextDouble())));
            }
        }
        return w;
    }
}
