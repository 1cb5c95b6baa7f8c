package io.llmnpu.backend.opencl;

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
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Program binaries cached on disk: reused on the next start, damaged files ignored and rewritten. */
class ProgramCacheTest {

    static ClDeviceInfo fakeDevice(String name) {
        return new ClDeviceInfo("platform", "OpenCL 3.0", name, "vendor", "1.0", "OpenCL 3.0", 2, 1 << 30, 1 << 28,
                65536, 4, 1000, 1024, true);
    }

    @Test
    void roundTripsAndRejectsDamagedFiles(@TempDir Path root) throws IOException {
        ProgramBinaryCache cache = new ProgramBinaryCache(root, fakeDevice("a"));
        byte[] binary = new byte[1000];
        new Random(1).nextBytes(binary);
        assertTrue(cache.read("h").isEmpty(), "nothing cached yet");
        cache.write("h", binary);
        assertArrayEquals(binary, cache.read("h").orElseThrow());

        Path file = cache.fileFor("h");
        byte[] stored = Files.readAllBytes(file);
        stored[stored.length - 1] ^= 1;
        Files.write(file, stored);
        assertTrue(cache.read("h").isEmpty(), "flipped bit");

        Files.write(file, java.util.Arrays.copyOf(stored, stored.length / 2));
        assertTrue(cache.read("h").isEmpty(), "truncated");

        Files.write(file, new byte[0]);
        assertTrue(cache.read("h").isEmpty(), "empty");

        ProgramBinaryCache other = new ProgramBinaryCache(root, fakeDevice("b"));
        cache.write("h", binary);
        assertTrue(other.read("h").isEmpty(), "another device or driver never sees this binary");
        assertTrue(!other.fileFor("h").getParent().equals(file.getParent()));
    }

    @Test
    void writesNothingWhenTheCacheFolderIsUnusable(@TempDir Path dir) throws IOException {
        Path blocked = Files.writeString(dir.resolve("file-not-folder"), "x");
        ProgramBinaryCache cache = new ProgramBinaryCache(blocked, fakeDevice("x"));
        cache.write("abc", new byte[] {1, 2, 3});
        assertTrue(cache.read("abc").isEmpty());
    }

    @Test
    void secondStartLoadsTheCachedBinaryAndDamageFallsBackToSource(@TempDir Path root) throws IOException {
        OpenClOptions options = new OpenClOptions(root, OpenClOptions.StateResidency.KEEP_RESIDENT);
        try (OpenClTestDevice first = OpenClTestDevice.open(options)) {
            assertEquals(ClProgram.Origin.SOURCE, first.device.programOrigin());
            checkKernelsWork(first.device);
        }
        List<Path> files = binaries(root);
        assertEquals(1, files.size(), "one binary for one device: " + files);
        assertTrue(Files.size(files.getFirst()) > 0);

        try (OpenClTestDevice second = OpenClTestDevice.open(options)) {
            assertEquals(ClProgram.Origin.BINARY_CACHE, second.device.programOrigin());
            checkKernelsWork(second.device);
        }

        byte[] damaged = Files.readAllBytes(files.getFirst());
        for (int i = 100; i < damaged.length; i += 97) {
            damaged[i] ^= 0x5A;
        }
        Files.write(files.getFirst(), damaged);
        try (OpenClTestDevice third = OpenClTestDevice.open(options)) {
            assertEquals(ClProgram.Origin.SOURCE, third.device.programOrigin(), "damaged cache file is ignored");
            checkKernelsWork(third.device);
        }
        try (OpenClTestDevice fourth = OpenClTestDevice.open(options)) {
            assertEquals(ClProgram.Origin.BINARY_CACHE, fourth.device.programOrigin(), "the rebuild was cached again");
            // A well-formed cache file whose binary the driver refuses (e.g. written by an older driver
            // build that reported the same version) must also fall back to source.
            String key = files.getFirst().getFileName().toString().replace(".bin", "");
            byte[] garbage = new byte[4096];
            new Random(5).nextBytes(garbage);
            new ProgramBinaryCache(root, fourth.device.info()).write(key, garbage);
        }
        try (OpenClTestDevice fifth = OpenClTestDevice.open(options)) {
            assertEquals(ClProgram.Origin.SOURCE, fifth.device.programOrigin(), "a rejected binary is rebuilt");
            checkKernelsWork(fifth.device);
        }
    }

    private static List<Path> binaries(Path root) throws IOException {
        try (Stream<Path> files = Files.walk(root)) {
            return files.filter(p -> p.toString().endsWith(".bin")).toList();
        }
    }

    /** A program from either origin computes the same small product. */
    private static void checkKernelsWork(OpenClDevice device) {
        try (Arena arena = Arena.ofConfined()) {
            Tensor w = WeightCodec.random(arena, "w", DType.F32, 3, 5, new Random(9));
            SubgraphBuilder g = new SubgraphBuilder("probe");
            Value x = g.input("x", DType.F32, Shape.of(1, 5));
            Value y = g.value("y", DType.F32, Shape.of(1, 3));
            g.add(new Op.Linear(x, w, y));
            g.output(y);
            Tensor xt = TestTensors.randomF32(arena, "x", Shape.of(1, 5), new Random(10), 1);
            Tensor yt = TestTensors.zeros(arena, y);
            try (CompiledGraph compiled = device.compile(g.build())) {
                compiled.execute(Map.of(x, xt, y, yt));
            }
            TestTensors.assertClose(Reference.linear(TestTensors.rows(xt), WeightCodec.matrix(w)), TestTensors.rows(yt),
                    1e-6, 1e-5, "probe product");
        }
    }

    @Test
    void withoutACacheFolderEveryStartCompiles() {
        OpenClOptions noCache = OpenClOptions.defaults().withBinaryCacheDir(null);
        for (int start = 0; start < 2; start++) {
            try (OpenClTestDevice cl = OpenClTestDevice.open(noCache)) {
                assertEquals(ClProgram.Origin.SOURCE, cl.device.programOrigin());
            }
        }
    }

    @Test
    void optionsDefaultToTheUserCache() {
        OpenClOptions defaults = OpenClOptions.defaults();
        assertEquals(Optional.of(Path.of(System.getProperty("user.home"), ".cache", "llmnpu", "opencl")),
                Optional.ofNullable(defaults.binaryCacheDir()));
        assertEquals(OpenClOptions.StateResidency.KEEP_RESIDENT, defaults.stateResidency());
    }
}
