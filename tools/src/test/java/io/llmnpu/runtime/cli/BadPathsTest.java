package io.llmnpu.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.runtime.model.SharedModels;
import io.llmnpu.runtime.quant.PlantedOutlierModel;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad output and input paths are refused with a message that names the path and says what is wrong,
 * before any model is loaded or measured, so no work (and no result) is lost to a typo.
 */
class BadPathsTest {
    @TempDir
    Path dir;

    /** Exit code and everything written to stdout and stderr, picocli's writers and the process streams alike. */
    record Run(int code, String out, String err) {
    }

    static Run cli(String... args) {
        PrintStream stdout = System.out;
        PrintStream stderr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        StringWriter cliOut = new StringWriter();
        StringWriter cliErr = new StringWriter();
        int code;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            code = Main.execute(new PrintWriter(cliOut, true), new PrintWriter(cliErr, true), args);
        } finally {
            System.setOut(stdout);
            System.setErr(stderr);
        }
        return new Run(code, out.toString(StandardCharsets.UTF_8) + cliOut, err.toString(StandardCharsets.UTF_8) + cliErr);
    }

    private static void assertRefusedBeforeWork(Run run, String... messageParts) {
        assertEquals(1, run.code(), run.err());
        for (String part : messageParts) {
            assertTrue(run.err().contains(part), "message lacks \"" + part + "\":\n" + run.err());
        }
        assertFalse(run.err().contains("loading") || run.err().contains("bench ") || run.err().contains("calibrating on"),
                "work started before the error:\n" + run.err());
        assertEquals(1, run.err().lines().count(), "one line of error, no stack trace:\n" + run.err());
    }

    private Path calibrationText() throws Exception {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 10; i++) {
            text.append("Once upon a time there was a cat number ").append(i).append(".\n\n");
        }
        return Files.writeString(dir.resolve("text.txt"), text);
    }

    @Test
    void benchIntoAFileInsteadOfAFolder() throws Exception {
        Path model = SharedModels.file("stories260K.gguf");
        Path file = Files.writeString(dir.resolve("results.txt"), "keep me");
        Run run = cli("bench", "-m", model.toString(), "-p", "16", "-n", "4", "-r", "1", "-o", file.toString());
        assertRefusedBeforeWork(run, "error: cannot write results to " + file + ": it is a file, not a folder");
        assertEquals("keep me", Files.readString(file));
    }

    @Test
    void calibrateIntoAMissingFolder() throws Exception {
        Path model = SharedModels.file("stories260K.gguf");
        Path out = dir.resolve("missing/dir/x.json");
        Run run = cli("calibrate", model.toString(), "--text", calibrationText().toString(), "-o", out.toString());
        assertRefusedBeforeWork(run, "error: cannot write " + out + ": the folder " + out.getParent() + " does not exist");
    }

    @Test
    void evalIntoAMissingFolder() throws Exception {
        Path model = new PlantedOutlierModel(64, 384, 1, 4, 2, 256, 2, 40f, 0.05, 7).write(dir.resolve("m.gguf"));
        Path text = calibrationText();
        assertEquals(0, cli("calibrate", model.toString(), "--text", text.toString(), "--tokens", "200", "--threads", "1").code());
        Path json = dir.resolve("missing/e.json");
        Run run = cli("eval", model.toString(), "--text", text.toString(), "--json", json.toString());
        assertRefusedBeforeWork(run, "error: cannot write " + json + ": the folder " + json.getParent() + " does not exist");
        Path svg = dir.resolve("nowhere/e.svg");
        run = cli("eval", model.toString(), "--text", text.toString(), "--json", dir.resolve("e.json").toString(),
                "--svg", svg.toString());
        assertRefusedBeforeWork(run, "error: cannot write " + svg + ": the folder " + svg.getParent() + " does not exist");
        assertFalse(Files.exists(dir.resolve("e.json")));
    }

    @Test
    void calibrationTextThatIsMissingOrNotUtf8() throws Exception {
        Path model = SharedModels.file("stories260K.gguf");
        Path out = dir.resolve("c.json");
        Path missing = dir.resolve("missing.txt");
        Run run = cli("calibrate", model.toString(), "--text", missing.toString(), "-o", out.toString());
        assertRefusedBeforeWork(run, "error: the calibration text " + missing + " does not exist");
        Path latin1 = Files.write(dir.resolve("latin1.txt"), "Il était une fois".getBytes(StandardCharsets.ISO_8859_1));
        run = cli("calibrate", model.toString(), "--text", latin1.toString(), "-o", out.toString());
        assertRefusedBeforeWork(run, "error: the calibration text " + latin1 + " is not UTF-8 text: invalid byte 0xE9 at offset 3");
    }

    @Test
    void aFolderGivenAsTheModel() {
        Run run = cli("info", dir.toString());
        assertRefusedBeforeWork(run, "error: " + dir + " is a folder, not a model file");
        run = cli("generate", "-m", dir.toString(), "hi");
        assertRefusedBeforeWork(run, "error: " + dir + " is a folder, not a model file");
    }
}
