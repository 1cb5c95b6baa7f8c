package io.llmnpu.backend.vulkan;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Compiled SPIR-V and the driver's pipeline cache are kept on disk: a second start compiles no shader,
 * a damaged file is detected and compiled again, and without a cache folder nothing is written.
 */
class ShaderCacheTest {

    /** Runs x + x and silu(x) * x on a fresh backend; returns {shaders compiled, shaders read from the cache}. */
    private static int[] runOnce(VulkanOptions options) {
        try (VulkanTestDevice vk = VulkanTestDevice.open(options); Arena arena = Arena.ofConfined()) {
            SubgraphBuilder b = new SubgraphBuilder("cache-check");
            Value x = b.input("x", DType.F32, Shape.of(3, 40));
            Value sum = b.add(new Op.Add(x, x, b.value("sum", DType.F32, x.shape()))).out();
            Value y = b.add(new Op.SiluMul(x, sum, b.value("y", DType.F32, x.shape()))).out();
            b.output(y);
            Tensor xt = TestTensors.random(arena, "x", x.shape(), new Random(3));
            Tensor yt = Tensor.allocate(arena, "y", DType.F32, y.shape());
            try (CompiledGraph g = vk.device.compile(b.build())) {
                g.execute(Map.of(x, xt, y, yt));
            }
            double[] in = TestTensors.values(xt);
            double[] expected = new double[in.length];
            for (int i = 0; i < in.length; i++) {
                expected[i] = in[i] / (1 + Math.exp(-in[i])) * 2 * in[i];
            }
            TestTensors.assertClose(expected, TestTensors.values(yt), 1e-6, "silu(x) * 2x");
            return vk.device.shaderCounts();
        }
    }

    private static List<Path> files(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }

    @Test
    void aSecondStartCompilesNothing(@TempDir Path cache) throws IOException {
        VulkanOptions options = VulkanOptions.defaults().withCacheDir(cache);
        int[] first = runOnce(options);
        assertTrue(first[0] >= 1, "the first start compiles: " + first[0]);
        assertEquals(first[0], files(cache.resolve("spirv")).size());
        assertArrayEquals(new int[] {0, first[0]}, runOnce(options), "the second start reads every shader from disk");
    }

    @Test
    void damagedFilesAreCompiledAgain(@TempDir Path cache) throws IOException {
        VulkanOptions options = VulkanOptions.defaults().withCacheDir(cache);
        int compiled = runOnce(options)[0];
        List<Path> spirv = files(cache.resolve("spirv"));
        Files.write(spirv.getFirst(), new byte[] {1, 2, 3});
        byte[] whole = Files.readAllBytes(spirv.getLast());
        whole[whole.length - 1] ^= 0x55;
        Files.write(spirv.getLast(), whole);
        int[] again = runOnce(options);
        assertEquals(2, again[0], "both damaged shaders compiled again");
        assertEquals(compiled - 2, again[1]);
        for (Path pipelines : files(cache.resolve("pipelines"))) {
            Files.write(pipelines, new byte[] {9, 9, 9});
        }
        assertArrayEquals(new int[] {0, compiled}, runOnce(options), "a damaged pipeline cache costs nothing but time");
    }

    @Test
    void withoutACacheFolderNothingIsWritten(@TempDir Path cache) throws IOException {
        int[] counts = runOnce(VulkanOptions.defaults().withCacheDir(null));
        assertEquals(0, counts[1]);
        assertTrue(counts[0] >= 1);
        assertEquals(List.of(), files(cache));
    }
}
