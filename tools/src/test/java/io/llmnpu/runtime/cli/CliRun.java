package io.llmnpu.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** Runs the {@code llmnpu} command line in-process and returns what it wrote to standard output. */
final class CliRun {
    private CliRun() {
    }

    static String run(int expectedCode, String... args) {
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
        assertEquals(expectedCode, code, "llmnpu " + String.join(" ", args) + ":\n" + text);
        return text;
    }
}
