package io.llmnpu.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.runtime.model.SharedModels;
import org.junit.jupiter.api.Test;

/**
 * {@code llmnpu generate} with values it cannot honour: refused first thing, on a line of their own,
 * before the model loads or the prompt is echoed; values it can honour but that hurt are named.
 */
class GenerateFlagsTest {
    private static final String PROMPT = "Once upon a time";

    private static String model() {
        return SharedModels.file("stories260K.gguf").toString();
    }

    private static void assertRefusedFirst(BadPathsTest.Run run, String message) {
        assertEquals(1, run.code(), run.err());
        assertTrue(run.err().contains("error: " + message), "expected \"" + message + "\" in:\n" + run.err());
        assertFalse(run.err().contains("loading"), "the model loaded before the error:\n" + run.err());
        assertFalse(run.out().contains(PROMPT), "the prompt was echoed before the error:\n" + run.out());
    }

    @Test
    void negativeTokenCountIsRefusedBeforeTheModelLoads() {
        assertRefusedFirst(BadPathsTest.cli("generate", "-m", model(), "-n", "-1", PROMPT),
                "-n must be 0 or more (the most tokens to generate), got -1");
    }

    @Test
    void contextBeyondTheModelsIsRefusedNotCapped() {
        assertRefusedFirst(BadPathsTest.cli("generate", "-m", model(), "-c", "100000", PROMPT),
                "a context of 100000 tokens is more than stories260K.gguf was made for (2048); use at most 2048");
    }

    @Test
    void overLongPromptIsRefusedBeforeTheEchoWithAdviceThatFits() {
        BadPathsTest.Run run = BadPathsTest.cli("generate", "-m", model(), "-c", "8", "-n", "4", PROMPT + " there was a little girl");
        assertEquals(1, run.code(), run.err());
        assertTrue(run.err().contains("error: the prompt has 12 tokens but the context holds 8; shorten it or raise the "
                + "context length (this model allows up to 2048)"), run.err());
        assertFalse(run.out().contains(PROMPT), "the prompt was echoed before the error:\n" + run.out());
        String longPrompt = (PROMPT + " ").repeat(600);
        run = BadPathsTest.cli("generate", "-m", model(), "-n", "4", longPrompt);
        assertEquals(1, run.code(), run.err());
        assertTrue(run.err().contains("; shorten it (2048 tokens is all this model allows)"), run.err());
    }

    @Test
    void moreThreadsThanCoresAreNamed() {
        BadPathsTest.Run run = BadPathsTest.cli("generate", "-m", model(), "--threads", "1000", "-n", "2", "-t", "0", PROMPT);
        assertEquals(0, run.code(), run.err());
        int cores = Runtime.getRuntime().availableProcessors();
        assertTrue(run.err().contains("warning: --threads 1000 is more than the " + cores + " core(s) of this machine"), run.err());
    }

    @Test
    void theLargestTokenCountRunsUntilTheContextIsFull() {
        BadPathsTest.Run run = BadPathsTest.cli("generate", "-m", model(), "-n", "2147483647", "-c", "32", "-t", "0",
                "--no-stop", PROMPT);
        assertEquals(0, run.code(), run.err());
        assertTrue(run.err().contains("generated: 28 tokens") && run.err().contains("stop: context_full"), run.err());
        assertTrue(run.out().startsWith(PROMPT) && run.out().endsWith("\n"), run.out());
    }
}
