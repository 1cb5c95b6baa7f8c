package io.llmnpu.backend.vulkan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Cost rates are measured once per device and driver, cached, and measured again when the file is unusable. */
class CostCalibrationTest {
    private static final CostRates DEFAULTS = new CostRates(1e9, 1e9, 1e-5, "defaults");

    private static CostCalibration calibration(Path dir, String key, AtomicInteger measured) {
        return new CostCalibration(Optional.ofNullable(dir), key, () -> {
            measured.incrementAndGet();
            return new CostRates(2.5e9, 3.5e9, 4.5e-6, "measured now");
        });
    }

    @Test
    void measuredOnceThenReadFromTheCache(@TempDir Path dir) {
        AtomicInteger measured = new AtomicInteger();
        CostRates first = calibration(dir, "device A", measured).rates(DEFAULTS);
        assertEquals("measured now", first.source());
        CostRates second = calibration(dir, "device A", measured).rates(DEFAULTS);
        assertEquals(1, measured.get());
        assertTrue(second.source().startsWith("cached "), second.source());
        assertEquals(first.flopsPerSecond(), second.flopsPerSecond());
        assertEquals(first.bytesPerSecond(), second.bytesPerSecond());
        assertEquals(first.dispatchSeconds(), second.dispatchSeconds());
    }

    @Test
    void anotherDeviceOrADamagedFileIsMeasuredAgain(@TempDir Path dir) throws IOException {
        AtomicInteger measured = new AtomicInteger();
        CostCalibration a = calibration(dir, "device A", measured);
        a.rates(DEFAULTS);
        calibration(dir, "device B", measured).rates(DEFAULTS);
        assertEquals(2, measured.get(), "each device has its own file");
        Files.writeString(a.cacheFile(), "key=device A\nflopsPerSecond=-1\n");
        assertEquals("measured now", a.rates(DEFAULTS).source());
        Files.writeString(a.cacheFile(), "key=device C\nflopsPerSecond=1\nbytesPerSecond=1\ndispatchSeconds=0\n");
        assertEquals("measured now", a.rates(DEFAULTS).source());
        assertEquals(4, measured.get());
    }

    @Test
    void noCacheMeansFixedDefaultsAndNoMeasuring() {
        AtomicInteger measured = new AtomicInteger();
        assertEquals(DEFAULTS, calibration(null, "device A", measured).rates(DEFAULTS));
        assertEquals(0, measured.get());
    }

    @Test
    void theProbeMeasuresPlausibleRatesOnTheDevice() {
        try (VulkanTestDevice vk = VulkanTestDevice.open()) {
            CostRates rates = KernelRateProbe.measure(vk.device);
            assertTrue(rates.flopsPerSecond() > 1e6 && rates.flopsPerSecond() < 1e15, rates.toString());
            assertTrue(rates.bytesPerSecond() > 1e6 && rates.bytesPerSecond() < 1e13, rates.toString());
            assertTrue(rates.dispatchSeconds() < 0.1, rates.toString());
        }
    }
}
