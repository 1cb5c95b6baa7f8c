package io.llmnpu.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import java.util.regex.Pattern;
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
        return run(command);
    }

    /** The launcher under a shell command such as {@code ulimit -f 200}. */
    private static Result runAfter(String shellCommand, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("bash", "-c", shellCommand + "; exec \"$0\" \"$@\"",
                REPO.resolve("llmnpu").toString()));
        command.addAll(List.of(args));
        return run(command);
    }

    private static Result run(List<String> command) throws IOException, InterruptedException {
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

    /**
     * Ctrl-C while text streams: generation stops at once, the text ends its line and the summary
     * (speed, stop reason) is printed before the process exits.
     */
    @Test
    void ctrlCEndsTheLineAndPrintsTheSummary() throws Exception {
        Path dir = Files.createTempDirectory("llmnpu-ctrl-c");
        Path model = dir.resolve("slow.gguf");
        try {
            // Big enough that generating its whole context takes many seconds.
            Result synth = run("synth", "--shape", "stories260k", "--dim", "384", "--ffn", "1024", "--layers", "6",
                    "--heads", "6", "--vocab", "2000", "--ctx", "4096", "--type", "f32", model.toString());
            assertEquals(0, synth.exitCode(), synth.stderr());
            ProcessBuilder pb = new ProcessBuilder(REPO.resolve("llmnpu").toString(), "generate", "-m", model.toString(),
                    "-n", "100000", "--no-stop", "--threads", "1", "Once").directory(REPO.toFile());
            pb.environment().put("LLMNPU_NO_BUILD", "1");
            Path err = dir.resolve("stderr.txt");
            pb.redirectError(err.toFile());
            Process p = pb.start();
            StringBuilder out = new StringBuilder();
            Thread reader = Thread.ofPlatform().start(() -> {
                try (var in = new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)) {
                    char[] buffer = new char[256];
                    for (int n; (n = in.read(buffer)) > 0; ) {
                        synchronized (out) {
                            out.append(buffer, 0, n);
                        }
                    }
                } catch (IOException ignored) {
                    // the process ended
                }
            });
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (length(out) < 40 && p.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(p.isAlive(), "generation ended before it could be interrupted: " + Files.readString(err));
            String signal = sigintIgnoredHere() ? "-TERM" : "-INT"; // a background shell may have masked SIGINT
            assertEquals(0, new ProcessBuilder("kill", signal, Long.toString(p.pid())).start().waitFor());
            assertTrue(p.waitFor(20, TimeUnit.SECONDS), "still running 20 s after " + signal);
            reader.join(5_000);
            String stdout;
            synchronized (out) {
                stdout = out.toString();
            }
            String stderr = Files.readString(err, StandardCharsets.UTF_8);
            assertTrue(stdout.startsWith("Once") && stdout.endsWith("\n"), "the text must end its line: [" + stdout + "]");
            assertTrue(stderr.contains("| stop: cancelled"), "no summary after " + signal + ":\n" + stderr);
            assertTrue(stderr.contains("generated: "), stderr);
        } finally {
            try (var left = Files.list(dir)) {
                for (Path f : left.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(dir);
        }
    }

    private static int length(StringBuilder sb) {
        synchronized (sb) {
            return sb.length();
        }
    }

    /** Whether this JVM was started with SIGINT ignored (then its children ignore it too). */
    private static boolean sigintIgnoredHere() throws IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.isReadable(status)) {
            return false;
        }
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("SigIgn:")) {
                return (Long.parseUnsignedLong(line.substring(7).strip(), 16) & (1L << 1)) != 0;
            }
        }
        return false;
    }

    /**
     * On a machine without OpenCL (no ICD loader, no driver; simulated in a private mount namespace by
     * scripts/without-opencl) the launcher runs on the CPU without a word about OpenCL in its
     * output, and {@code backends} says what to install.
     */
    @Test
    void withoutOpenClTheLauncherStaysQuiet() throws Exception {
        assumeDefaultModel();
        Path script = REPO.resolve("scripts/without-opencl");
        Result probe = run(List.of(script.toString(), "true"));
        assumeTrue(probe.exitCode() == 0, "cannot simulate a machine without OpenCL here: " + probe.stderr().strip());
        Result r = run(List.of(script.toString(), REPO.resolve("llmnpu").toString(), "generate", "Once upon a time",
                "-t", "0", "-n", "12"));
        assertEquals(0, r.exitCode(), r.stderr());
        assertTrue(r.stdout().startsWith("Once upon a time, there was a little girl named Lily"), r.stdout());
        assertFalse((r.stdout() + r.stderr()).contains("libOpenCL"), "OpenCL noise:\n" + r.stdout() + r.stderr());
        Result backends = run(List.of(script.toString(), REPO.resolve("llmnpu").toString(), "backends"));
        assertEquals(0, backends.exitCode(), backends.stderr());
        // The table's columns widen with the longest backend name, so match the row by its words.
        assertTrue(Pattern.compile("opencl +class path +unavailable: the OpenCL library could not be loaded")
                .matcher(backends.stdout()).find()
                && backends.stdout().contains("install an OpenCL ICD loader and a driver"), backends.stdout());
    }

    /** Maven's quiet batch output (what the launcher's first build prints) carries no terminal escape codes. */
    @Test
    void quietBuildOutputHasNoEscapeCodes() throws Exception {
        Result which = run(List.of("bash", "-c", "command -v mvn"));
        assumeTrue(which.exitCode() == 0, "mvn is not on the PATH");
        Result r = run(List.of("mvn", "-q", "-B", "-N", "validate"));
        assertEquals(0, r.exitCode(), r.stdout() + r.stderr());
        assertFalse((r.stdout() + r.stderr()).contains("\u001b"), "escape codes in: "
                + (r.stdout() + r.stderr()).replace("\u001b", "<ESC>"));
    }

    /** A disk that fills up (here the file size limit) must not cost the user the model they had. */
    @Test
    void aModelWriteCutShortKeepsTheExistingFile() throws Exception {
        Path dir = Files.createTempDirectory("llmnpu-full-disk");
        Path model = dir.resolve("model.gguf");
        byte[] previous = "the model the user already had".getBytes(StandardCharsets.UTF_8);
        Files.write(model, previous);
        try {
            // 200 KiB: the header fits, the ~1 MiB of weights does not.
            Result r = runAfter("ulimit -f 200", "synth", "--shape", "stories260k", "--type", "f32", model.toString());
            assertEquals(1, r.exitCode(), r.stderr());
            assertTrue(r.stderr().contains("error: cannot write " + model + ": File too large (the existing file is unchanged)"),
                    r.stderr());
            assertArrayEquals(previous, Files.readAllBytes(model), "the existing model was damaged");
            try (var left = Files.list(dir)) {
                assertEquals(List.of(model), left.toList(), "a partial file was left behind");
            }
        } finally {
            try (var left = Files.list(dir)) {
                for (Path p : left.toList()) {
                    Files.delete(p);
                }
            }
            Files.delete(dir);
        }
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
