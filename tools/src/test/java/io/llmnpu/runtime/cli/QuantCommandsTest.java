package io.llmnpu.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.runtime.quant.CalibrationData;
import io.llmnpu.runtime.quant.CalibrationFile;
import io.llmnpu.runtime.quant.CalibrationStore;
import io.llmnpu.runtime.quant.Json;
import io.llmnpu.runtime.quant.PlantedOutlierModel;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code llmnpu calibrate} and {@code llmnpu eval} end to end on a small planted-outlier model. */
class QuantCommandsTest {

    @TempDir
    Path dir;

    @Test
    void calibrateWritesSidecarAndEvalWritesReports() throws Exception {
        Path model = new PlantedOutlierModel(64, 384, 1, 4, 2, 256, 2, 40f, 0.05, 7).write(dir.resolve("tiny.gguf"));
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 30; i++) {
            text.append("Once upon a time there was a little cat number ").append(i).append(". It liked to play.\n\n");
        }
        Path textFile = Files.writeString(dir.resolve("text.txt"), text);
        System.setProperty("llmnpu.npu.cache", dir.resolve("npu-cache").toString());
        String out;
        try {
            out = run("calibrate", model.toString(), "--text", textFile.toString(), "--tokens", "600", "--threads", "1");
            Path sidecar = dir.resolve("tiny.gguf.calib.json");
            assertTrue(Files.isRegularFile(sidecar), "calibration is written beside the model");
            CalibrationData data = CalibrationFile.read(sidecar);
            assertEquals(1, data.layers().size());
            assertTrue(data.tokens() <= 600 && data.tokens() > 100, "token budget respected: " + data.tokens());
            assertTrue(out.contains("importance") && out.contains("down"), out);

            Path json = dir.resolve("report.json");
            Path svg = dir.resolve("report.svg");
            out = run("eval", model.toString(), "--text", textFile.toString(), "--chunks", "3", "--modes",
                    "fp32,naive,shadow,shadow-pruned", "--weights", "channel", "--json", json.toString(), "--svg",
                    svg.toString(), "--threads", "1");
        } finally {
            System.clearProperty("llmnpu.npu.cache");
        }
        assertTrue(out.contains("W8A8 + shadow + pruning") && out.contains("FP32"), out);
        Map<?, ?> report = (Map<?, ?>) Json.parse(Files.readString(dir.resolve("report.json")));
        List<?> modes = (List<?>) report.get("modes");
        assertEquals(4, modes.size());
        Map<?, ?> shadow = (Map<?, ?>) modes.get(2);
        assertEquals("shadow", shadow.get("mode"));
        assertTrue(((Number) shadow.get("hot_bytes")).longValue() > 0);
        assertTrue(((Number) shadow.get("perplexity")).doubleValue() > 1);
        String chart = Files.readString(dir.resolve("report.svg"));
        assertTrue(chart.startsWith("<?xml") && chart.contains("<svg") && chart.contains("W8A8 naive"),
                "an SVG chart with one bar per configuration");
        assertTrue(Files.list(dir.resolve("npu-cache")).findAny().isPresent(), "the NPU compile cache was used");
    }

    @Test
    void evalWithoutCalibrationExplainsWhatToRun() throws Exception {
        Path model = new PlantedOutlierModel(64, 384, 1, 4, 2, 256, 2, 40f, 0.05, 7).write(dir.resolve("m.gguf"));
        Path textFile = Files.writeString(dir.resolve("t.txt"), "Hello.\n\nWorld.\n");
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int code;
        try {
            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
            code = Main.execute("eval", model.toString(), "--text", textFile.toString());
        } finally {
            System.setErr(err);
        }
        assertEquals(1, code);
        assertTrue(captured.toString(StandardCharsets.UTF_8).contains("llmnpu calibrate"), captured.toString());
    }

    /** Where the model's folder is read-only, calibrate writes to the per-user cache, creating it if missing. */
    @Test
    void calibrateCreatesTheCacheFolderWhenTheModelsFolderIsReadOnly() throws Exception {
        Path models = Files.createDirectories(dir.resolve("models"));
        Path model = new PlantedOutlierModel(64, 384, 1, 4, 2, 256, 2, 40f, 0.05, 7).write(models.resolve("tiny.gguf"));
        Path textFile = Files.writeString(dir.resolve("text.txt"), "Once upon a time there was a cat. It liked to play.\n\n".repeat(20));
        Path cache = dir.resolve("no-such-cache").resolve("calib");
        String before = System.getProperty(CalibrationStore.CACHE_PROPERTY);
        System.setProperty(CalibrationStore.CACHE_PROPERTY, cache.toString());
        models.toFile().setWritable(false, false);
        try {
            run("calibrate", model.toString(), "--text", textFile.toString(), "--tokens", "200", "--threads", "1");
            Path cached = CalibrationStore.cached(model).orElseThrow();
            assertTrue(cached.startsWith(cache) && Files.isRegularFile(cached), "calibration written to " + cached);
        } finally {
            models.toFile().setWritable(true, false);
            if (before == null) {
                System.clearProperty(CalibrationStore.CACHE_PROPERTY);
            } else {
                System.setProperty(CalibrationStore.CACHE_PROPERTY, before);
            }
        }
    }

    private static String run(String... args) {
        PrintStream out = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            code = Main.execute(args);
        } finally {
            System.setOut(out);
        }
        String text = captured.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, "llmnpu " + String.join(" ", args) + " failed:\n" + text);
        return text;
    }
}
