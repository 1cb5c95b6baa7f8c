package io.llmnpu.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

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
