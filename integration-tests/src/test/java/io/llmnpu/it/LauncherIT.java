package io.llmnpu.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.llmnpu.backend.vulkan.VulkanBackendProvider;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Runs the {@code ./llmnpu} launcher as a user would, as a separate process. */
class LauncherIT {
    private static final Path REPO = Path.of(System.getProperty("llmnpu.repo.dir", "..")).toAbsolutePath().normalize();

    record Result(int exitCode, String stdout, String stderr) {
    }

    private static Result run(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(REPO.resolve("llmnpu").toString());
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).directory(REPO.toFile());
        // The reactor has just built the jars this test runs; do not rebuild from inside the build.
        pb.environment().put("LLMNPU_NO_BUILD", "1");
        pb.environment().remove("LLMNPU_MODEL");
        // The user's caches must not change what the tests see: no measured costs, no cached calibrations.
        pb.environment().put("LLMNPU_JAVA_OPTS", "-Dllmnpu.costs.cache=none -Dllmnpu.calib.cache=none");
        Path out = Files.createTempFile("llmnpu-out", ".txt");
        Path err = Files.createTempFile("llmnpu-err", ".txt");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("launcher did not finish in 120 s; stderr: " + Files.readString(err));
        }
        Result r = new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        Files.deleteIfExists(out);
        Files.deleteIfExists(err);
        return r;
    }

    private static void assumeDefaultModel() {
        assumeTrue(Files.isRegularFile(REPO.resolve("../shared/models/stories260K.gguf")),
                "the default model ../shared/models/stories260K.gguf is not present");
    }

    @Test
    void generateTellsTheReferenceStoryGreedily() throws Exception {
        assumeDefaultModel();
        Result r = run("generate", "Once upon a time", "-t", "0", "-n", "60");
        assertEquals(0, r.exitCode(), r.stderr());
        assertTrue(r.stdout().startsWith("Once upon a time, there was a little girl named Lily. She loved to play outside in the park."),
                "stdout was: " + r.stdout());
        assertTrue(r.stderr().contains("tok/s"), "speed line missing from stderr: " + r.stderr());
    }

    @Test
    void generateRunsThePromptOnTheNpuWithShadowsBesideIt(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        assumeDefaultModel();
        Path calib = dir.resolve("stories.calib.json");
        Result c = run("calibrate", "--text", REPO.resolve("../shared/data/tinystories-calib.txt").toString(),
                "--tokens", "4000", "-o", calib.toString());
        assertEquals(0, c.exitCode(), c.stderr());
        Result none = run("generate", "--npu", "npu-ref", "Once upon a time");
        assertEquals(1, none.exitCode(), "no calibration for --npu: " + none.stderr());
        assertTrue(none.stderr().contains("llmnpu calibrate"), none.stderr());
        Path trace = dir.resolve("trace.svg");
        Result r = run("generate", "--npu", "npu-ref", "--calib", calib.toString(), "-t", "0", "-n", "24", "--trace",
                trace.toString(), "Once upon a time, there was a little girl named Lily.");
        assertEquals(0, r.exitCode(), r.stderr());
        assertTrue(r.stdout().startsWith("Once upon a time, there was a little girl named Lily.")
                && r.stdout().length() > 80, r.stdout());
        assertTrue(r.stderr().contains("TTFT") && r.stderr().contains("w8a8-shadow on npu-ref/npu0"), r.stderr());
        // The real Gantt chart: INT8 linears on npu-ref, shadows on a CPU backend, some of them at the same time.
        List<double[]> npu = new ArrayList<>();
        List<double[]> shadows = new ArrayList<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                "<title>([^<]*) on ([^:]*): ([0-9.]+)-([0-9.]+) ms").matcher(Files.readString(trace));
        while (m.find()) {
            double[] span = {Double.parseDouble(m.group(3)), Double.parseDouble(m.group(4))};
            if (m.group(1).contains("(INT8 linear)") && m.group(2).equals("npu-ref/npu0")) {
                npu.add(span);
            } else if (m.group(1).contains("(shadow)") && m.group(2).startsWith("cpu")) { // cpu or cpu-native
                shadows.add(span);
            }
        }
        assertTrue(npu.size() >= 35 && !shadows.isEmpty(), npu.size() + " INT8 tasks, " + shadows.size() + " shadows");
        assertTrue(npu.stream().anyMatch(a -> shadows.stream().anyMatch(b -> a[0] < b[1] && b[0] < a[1])),
                "a shadow ran while the NPU ran an INT8 linear");
    }

    @Test
    void generateOnVulkanPrintsTheCpuText() throws Exception {
        assumeDefaultModel();
        String reason = new VulkanBackendProvider().unavailableReason();
        assumeTrue(reason.isEmpty(), () -> "Vulkan not available here: " + reason);
        Result cpu = run("generate", "Once upon a time", "--backend", "cpu", "-t", "0", "-n", "60");
        Result vulkan = run("generate", "Once upon a time", "--backend", "vulkan", "-t", "0", "-n", "60");
        assertEquals(0, cpu.exitCode(), cpu.stderr());
        assertEquals(0, vulkan.exitCode(), vulkan.stderr());
        assertTrue(vulkan.stderr().contains("vulkan/vulkan0"), "the run names its device: " + vulkan.stderr());
        assertEquals(cpu.stdout(), vulkan.stdout());
        assertTrue(vulkan.stdout().startsWith("Once upon a time, there was a little girl named Lily."), vulkan.stdout());
    }

    @Test
    void generateWithDefaultsPrintsAStory() throws Exception {
        assumeDefaultModel();
        Result r = run("generate", "Once upon a time", "-n", "40", "-s", "7");
        assertEquals(0, r.exitCode(), r.stderr());
        assertTrue(r.stdout().startsWith("Once upon a time"), r.stdout());
        assertTrue(r.stdout().length() > "Once upon a time".length() + 40, "too little text: " + r.stdout());
    }

    @Test
    void infoDescribesTheModel() throws Exception {
        assumeDefaultModel();
        Result r = run("info");
        assertEquals(0, r.exitCode(), r.stderr());
        assertTrue(r.stdout().contains("architecture  llama"), r.stdout());
        assertTrue(r.stdout().contains("layers        5"), r.stdout());
        assertTrue(r.stdout().contains("sentencepiece"), r.stdout());
    }

    @Test
    void helpExplainsTheCommands() throws Exception {
        Result r = run("--help");
        assertEquals(0, r.exitCode(), r.stderr());
        assertTrue(r.stdout().contains("generate") && r.stdout().contains("info"), r.stdout());
    }

    @Test
    void missingModelGivesAClearError() throws Exception {
        Result r = run("generate", "-m", "/nonexistent/model.gguf", "hi");
        assertEquals(1, r.exitCode());
        assertTrue(r.stderr().contains("model file not found: /nonexistent/model.gguf"), r.stderr());
    }

    @Test
    void damagedModelGivesAClearError() throws Exception {
        Path bad = Files.createTempFile("damaged", ".gguf");
        Files.write(bad, new byte[] {'G', 'G', 'U', 'F', 3, 0, 0, 0, 1});
        try {
            Result r = run("info", bad.toString());
            assertEquals(1, r.exitCode());
            assertTrue(r.stderr().contains("error: " + bad + " at offset "), r.stderr());
            assertTrue(!r.stderr().contains("Exception in thread"), r.stderr());
        } finally {
            Files.deleteIfExists(bad);
        }
    }
}
