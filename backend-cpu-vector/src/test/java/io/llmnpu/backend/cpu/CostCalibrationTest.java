package io.llmnpu.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Measuring the CPU cost rates, caching them per machine, and the fixed defaults when caching is off. */
class CostCalibrationTest {

    private static final String KEY = "cpu=Test CPU x2;threads=2;jdk=25;format=" + CostCalibration.FORMAT_VERSION;

    /** A stand-in measurement that counts how often it runs. */
    private record CountingMeasurement(AtomicInteger runs, double flops, double bytes) implements Supplier<CostConstants> {
        CountingMeasurement(double flops, double bytes) {
            this(new AtomicInteger(), flops, bytes);
        }

        @Override
        public CostConstants get() {
            runs.incrementAndGet();
            return new CostConstants(flops, bytes, "measured now");
        }
    }

    @Test
    void realKernelsGiveSaneRatesThatDriveTheAffinityEstimates(@TempDir Path cache) {
        try (Arena arena = Arena.ofShared();
             CpuBackend backend = new CpuBackend(new BackendOptions(2), Optional.of(cache))) {
            CostConstants rates = backend.costs().rates();
            assertEquals("measured now", rates.source());
            // From an interpreted JVM on a loaded core to a large server: 0.1 GFLOP/s .. 100 TFLOP/s, 0.1 GB/s .. 2 TB/s.
            assertTrue(rates.flopsPerSecond() > 1e8 && rates.flopsPerSecond() < 1e14, rates.toString());
            assertTrue(rates.bytesPerSecond() > 1e8 && rates.bytesPerSecond() < 2e12, rates.toString());

            Device d = backend.devices().getFirst();
            Tensor w = Tensor.allocate(arena, "w", DType.F32, Shape.of(256, 1024));
            Op linear = new Op.Linear(new Value(0, "x", DType.F32, Shape.of(32, 1024)), w,
                    new Value(1, "y", DType.F32, Shape.of(32, 256)));
            double flops = 2.0 * 32 * 1024 * 256;
            double bytes = 4.0 * (256 * 1024 + 32 * 1024 + 32 * 256);
            double expected = flops / rates.flopsPerSecond() + bytes / rates.bytesPerSecond();
            assertEquals(expected, d.affinity(linear).estimatedSeconds(), expected * 1e-9);
            assertTrue(d.toString().contains("measured now"), d.toString());
        }
        try (CpuBackend again = new CpuBackend(new BackendOptions(2), Optional.of(cache))) {
            assertTrue(again.costs().rates().source().startsWith("cached "), again.costs().rates().source());
        }
    }

    @Test
    void secondCreationReadsTheCacheInsteadOfMeasuring(@TempDir Path cache) {
        CountingMeasurement probe = new CountingMeasurement(123.5e9, 17.25e9);
        CostConstants first = new CostCalibration(Optional.of(cache), KEY, probe).constants(2);
        assertEquals(1, probe.runs().get());
        CostCalibration second = new CostCalibration(Optional.of(cache), KEY, probe);
        CostConstants read = second.constants(2);
        assertEquals(1, probe.runs().get(), "the second creation must not measure");
        assertTrue(Files.isRegularFile(second.cacheFile()));
        assertTrue(second.cacheFile().getFileName().toString().matches("cpu-[0-9a-f]{16}\\.json"));
        assertEquals("cached " + second.cacheFile(), read.source());
        assertEquals(first.flopsPerSecond(), read.flopsPerSecond(), 1e-5 * first.flopsPerSecond());
        assertEquals(first.bytesPerSecond(), read.bytesPerSecond(), 1e-5 * first.bytesPerSecond());
    }

    /** A cache file as the printf-based writer before Jackson wrote it is still read, not measured again. */
    @Test
    void cacheWrittenBeforeJacksonIsRead(@TempDir Path cache) throws IOException {
        CountingMeasurement probe = new CountingMeasurement(1e11, 4e10);
        CostCalibration calibration = new CostCalibration(Optional.of(cache), KEY, probe);
        Files.createDirectories(cache);
        Files.writeString(calibration.cacheFile(), "{\"format\": 1, \"key\": \"" + KEY
                + "\", \"flopsPerSecond\": 1.234568e+11, \"bytesPerSecond\": 4.800000e+10}\n");
        CostConstants rates = calibration.constants(2);
        assertEquals(0, probe.runs().get(), "read from the cache");
        assertEquals(1.234568e11, rates.flopsPerSecond(), 1);
        assertEquals(4.8e10, rates.bytesPerSecond(), 1);
    }

    @Test
    void damagedCacheIsMeasuredAgainAndRewritten(@TempDir Path cache) throws IOException {
        CountingMeasurement probe = new CountingMeasurement(50e9, 8e9);
        CostCalibration calibration = new CostCalibration(Optional.of(cache), KEY, probe);
        calibration.constants(2);
        String[] damage = {"{\"format\": 1, \"key\": \"" + KEY + "\", \"flopsPerSecond\": -1, \"bytesPerSecond\": 8e9}",
            "not json at all", "", "{\"key\": \"" + KEY + "\", \"flopsPerSecond\": 1e9}"};
        for (int i = 0; i < damage.length; i++) {
            Files.writeString(calibration.cacheFile(), damage[i]);
            CostConstants rates = calibration.constants(2);
            assertEquals(i + 2, probe.runs().get(), "damaged file " + i + " must be measured again");
            assertEquals(50e9, rates.flopsPerSecond());
            assertNotEquals(damage[i], Files.readString(calibration.cacheFile()));
            assertTrue(calibration.constants(2).source().startsWith("cached "), "rewritten after damage " + i);
            assertEquals(i + 2, probe.runs().get());
        }
    }

    @Test
    void cacheOfAnotherMachineIsNotUsed(@TempDir Path cache) throws IOException {
        CountingMeasurement probe = new CountingMeasurement(50e9, 8e9);
        CostCalibration here = new CostCalibration(Optional.of(cache), KEY, probe);
        here.constants(2);
        String other = KEY.replace("threads=2", "threads=3");
        // Same file name, another key inside: as if two keys collided or the file was copied between machines.
        Files.writeString(here.cacheFile(), Files.readString(here.cacheFile()).replace(KEY, other));
        here.constants(2);
        assertEquals(2, probe.runs().get());
        assertNotEquals(here.cacheFile(), new CostCalibration(Optional.of(cache), other, probe).cacheFile());
    }

    @Test
    void withoutCacheTheDefaultsApplyAndNothingIsMeasured() {
        CountingMeasurement probe = new CountingMeasurement(50e9, 8e9);
        CostConstants rates = new CostCalibration(Optional.empty(), KEY, probe).constants(3);
        assertEquals(0, probe.runs().get());
        assertEquals("defaults", rates.source());
        assertEquals(60e9, rates.flopsPerSecond());
        assertEquals(10e9, rates.bytesPerSecond());
        try (CpuBackend backend = new CpuBackend(new BackendOptions(2), Optional.empty())) {
            assertEquals(new CostConstants(40e9, 10e9, "defaults"), backend.costs().rates());
            assertTrue(backend.devices().getFirst().toString().endsWith("defaults)"));
        }
    }

    @Test
    void machineKeyNamesThreadsJdkAndFormat() {
        String key = CostCalibration.machineKey(4);
        assertTrue(key.contains("threads=4") && key.contains("jdk=" + Runtime.version())
                && key.endsWith("format=" + CostCalibration.FORMAT_VERSION), key);
        assertNotEquals(key, CostCalibration.machineKey(5));
    }
}
