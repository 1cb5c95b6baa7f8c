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
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Shapes beyond what one dispatch covers: a decode product with more output rows than a device allows
 * work-groups along x (vocabularies of 128k and more), and an elementwise op over more values than
 * one row of work-groups holds, both spread over several dispatches or a second grid dimension.
 */
class LargeShapesTest {

    @Test
    void aDecodeProductWithMoreRowsThanOneDispatchCovers() {
        Random rnd = new Random(21);
        // Without subgroups the matrix-vector shader takes one work-group per row, so 70,000 rows need two dispatches.
        try (VulkanTestDevice vk = VulkanTestDevice.open(VulkanOptions.defaults().withCacheDir(VulkanTestDevice.TEST_CACHE)
                .withSubgroups(false)); Arena arena = Arena.ofConfined()) {
            int rows = 70_000;
            int k = 32;
            SubgraphBuilder b = new SubgraphBuilder("wide-matvec");
            Value x = b.input("x", DType.F32, Shape.of(1, k));
            Tensor w = Tensor.allocate(arena, "w", DType.F16, Shape.of(rows, k));
            for (long i = 0; i < w.shape().elements(); i++) {
                w.data().setAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, i, Float.floatToFloat16((float) rnd.nextGaussian()));
            }
            Value y = b.add(new Op.Linear(x, w, b.value("y", DType.F32, Shape.of(1, rows)))).out();
            b.output(y);
            Tensor xt = TestTensors.random(arena, "x", x.shape(), rnd);
            Tensor yt = Tensor.allocate(arena, "y", DType.F32, y.shape());
            try (CompiledGraph g = vk.device.compile(b.build())) {
                g.execute(Map.of(x, xt, y, yt));
            }
            double[] expected = ReferenceOps.linear(TestTensors.values(xt), 1, k, TensorDecoder.toDoubles(w), rows);
            TestTensors.assertClose(expected, TestTensors.values(yt), 1e-5, "70,000-row product");
        }
    }

    @Test
    void anElementwiseOpOverMoreValuesThanOneRowOfWorkGroups() {
        Random rnd = new Random(22);
        try (VulkanTestDevice vk = VulkanTestDevice.open(); Arena arena = Arena.ofConfined()) {
            int n = 4_500_000; // beyond 65,535 work-groups of 64
            SubgraphBuilder b = new SubgraphBuilder("long-add");
            Value a = b.input("a", DType.F32, Shape.of(2, n / 2));
            Value c = b.input("c", DType.F32, Shape.of(2, n / 2));
            Value y = b.add(new Op.Add(a, c, b.value("y", DType.F32, Shape.of(2, n / 2)))).out();
            b.output(y);
            Tensor at = TestTensors.random(arena, "a", a.shape(), rnd);
            Tensor ct = TestTensors.random(arena, "c", c.shape(), rnd);
            Tensor yt = Tensor.allocate(arena, "y", DType.F32, y.shape());
            try (CompiledGraph g = vk.device.compile(b.build())) {
                g.execute(Map.of(a, at, c, ct, y, yt));
            }
            for (long i = 0; i < n; i++) {
                if (yt.getFloat(i) != at.getFloat(i) + ct.getFloat(i)) {
                    throw new AssertionError("element " + i + ": " + yt.getFloat(i) + " != " + at.getFloat(i) + " + " + ct.getFloat(i));
                }
            }
        }
    }
}
