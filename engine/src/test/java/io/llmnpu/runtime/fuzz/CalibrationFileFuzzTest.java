package io.llmnpu.runtime.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.llmnpu.runtime.quant.CalibrationData;
import io.llmnpu.runtime.quant.CalibrationFile;
import io.llmnpu.runtime.quant.LinearSite;
import io.llmnpu.runtime.quant.SiteCalibration;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/**
 * Any bytes given as a calibration file ({@code MODEL.calib.json}) either read into calibration
 * data whose derived figures can be computed, or are refused with an {@link IOException} whose
 * message names the file. Seeds: a real calibration of a tiny model, written by {@link FuzzSeeds}.
 */
class CalibrationFileFuzzTest {
    @TempDir
    Path dir;

    @FuzzTest(maxDuration = "30m")
    void anyBytesReadOrAreRefusedWithAnIoError(byte[] bytes) {
        Path file = FuzzInput.write(dir.resolve("fuzzed.calib.json"), bytes);
        CalibrationData data;
        try {
            data = CalibrationFile.read(file);
        } catch (IOException e) {
            assertTrue(e.getMessage() != null && e.getMessage().contains(file.toString()),
                    () -> "the error does not name the file: " + e);
            return;
        }
        for (int l = 0; l < data.layers().size(); l++) {
            for (LinearSite s : LinearSite.values()) {
                SiteCalibration c = data.site(l, s);
                // What the reader promises: ranges finite and >= 0, counts consistent, channels >= 0.
                assertTrue(c.absMax() >= 0 && c.clipValue() >= 0 && Float.isFinite(c.absMax())
                        && Float.isFinite(c.clipValue()), c::toString);
                assertTrue(c.outliers() >= 0 && c.outliers() <= c.values(), c::toString);
                for (int h : c.hotChannels()) {
                    assertTrue(h >= 0, c::toString);
                }
                c.channels().forEach(ch -> assertTrue(ch.channel() >= 0 && ch.count() >= 0, c::toString));
                assertTrue(c.absMaxScale() > 0 && c.clipScale() > 0, c::toString);
                c.importance();
                c.hotCoverage();
            }
        }
        data.mostImportant(0.15);
    }
}
