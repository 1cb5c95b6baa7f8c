package io.llmnpu.backend.npu.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Int8Weights;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A second backend on the same cache folder compiles without packing, and damaged blobs are repacked. */
class CompileCacheTest {

    @TempDir
    Path cacheDir;

    @Test
    void secondRunLoadsPackedLayersInsteadOfPacking() throws IOException {
        try (Arena arena = Arena.ofShared()) {
            Random rnd = new Random(11);
            Int8Weights w = Int8Fixtures.weights(arena, "blk.0.ffn_down", 96, 300, true, rnd);
            Subgraph g = Int8Fixtures.singleLinear(5, w, 0.02f, 0.001f);
            Tensor x = Int8Fixtures.floats(arena, "x", Shape.of(5, 300), rnd, 1f);

            float[] first = runOnFreshBackend(g, x, new CompileStats(1, 0, 1, 0, 0));
            assertEquals(1, blobs().size(), "one packed layer stored");
            float[] second = runOnFreshBackend(g, x, new CompileStats(0, 1, 1, 0, 0));
            assertArrayEquals(first, second, "the cached layer computes exactly what the packed one did");

            // Changed weights give a new key: packed again, the old blob left alone.
            w.data().set(ValueLayout.JAVA_BYTE, 17, (byte) (w.data().get(ValueLayout.JAVA_BYTE, 17) ^ 1));
            runOnFreshBackend(g, x, new CompileStats(1, 0, 1, 0, 0));
            assertEquals(2, blobs().size());
        }
    }

    @Test
    void damagedBlobIsDiscardedAndRepacked() throws IOException {
        try (Arena arena = Arena.ofShared()) {
            Random rnd = new Random(12);
            Int8Weights w = Int8Fixtures.weights(arena, "blk.1.attn_q", 40, 64, false, rnd);
            Subgraph g = Int8Fixtures.singleLinear(3, w, 0.05f, 0f);
            Tensor x = Int8Fixtures.floats(arena, "x", Shape.of(3, 64), rnd, 1f);
            float[] good = runOnFreshBackend(g, x, new CompileStats(1, 0, 1, 0, 0));
            Path blob = blobs().getFirst();
            byte[] bytes = Files.readAllBytes(blob);
            bytes[bytes.length / 2] ^= 0x40;
            Files.write(blob, bytes);
            float[] again = runOnFreshBackend(g, x, new CompileStats(1, 0, 1, 0, 0));
            assertArrayEquals(good, again);
            // The repacked blob is valid again.
            runOnFreshBackend(g, x, new CompileStats(0, 1, 1, 0, 0));
        }
    }

    private float[] runOnFreshBackend(Subgraph g, Tensor x, CompileStats expected) {
        try (var backend = new ReferenceNpuBackend(new NpuSettings(1, cacheDir)); Arena arena = Arena.ofConfined()) {
            Tensor y = Tensor.allocate(arena, "y", DType.F32, g.outputs().getFirst().shape());
            Int8Fixtures.run(backend.devices().getFirst(), g, x, y);
            CompileStats s = backend.stats();
            assertEquals(expected.layersPacked(), s.layersPacked(), "layers packed");
            assertEquals(expected.layersFromCache(), s.layersFromCache(), "layers loaded from the cache");
            assertEquals(expected.graphsCompiled(), s.graphsCompiled());
            return y.toFloatArray();
        }
    }

    private List<Path> blobs() throws IOException {
        try (Stream<Path> files = Files.list(cacheDir)) {
            List<Path> found = files.filter(p -> p.toString().endsWith(".npk")).toList();
            assertTrue(found.stream().allMatch(p -> p.getFileName().toString().startsWith("blk.")));
            return found;
        }
    }
}
