package io.llmnpu.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.runtime.reference.LlamaCppCases;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@code llmnpu tokenize} prints what llama.cpp's tokenizer makes of a text, like llama-tokenize. */
class TokenizeCommandTest {
    @TempDir
    Path dir;

    static List<LlamaCppCases> cases() {
        return LlamaCppCases.all();
    }

    private static String run(int expectedCode, String... args) {
        return CliRun.run(expectedCode, args);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void idsAreLlamaCppsForEveryReferenceModel(LlamaCppCases c) {
        String out = run(0, "tokenize", "-m", c.path().toString(), "--ids", c.prompt());
        assertEquals(Arrays.stream(c.promptIds()).mapToObj(Integer::toString).collect(Collectors.joining(", ", "[", "]")),
                out.strip());
    }

    @Test
    void linesShowIdAndPieceAndOptionsApply() throws Exception {
        LlamaCppCases c = LlamaCppCases.of("llama3-bpe.gguf").getFirst();
        String model = c.path().toString();
        List<String> lines = run(0, "tokenize", "-m", model, "Once upon").lines().toList();
        assertEquals("  1280 -> ''", lines.get(0), "BOS first, a control token prints as nothing");
        assertEquals("    46 -> 'O'", lines.get(1));
        String noBos = run(0, "tokenize", "-m", model, "--no-bos", "--ids", "--show-count", "Once upon");
        assertTrue(noBos.startsWith("[46, "), noBos);
        assertTrue(noBos.contains("Total number of tokens: 4"), noBos);
        String plain = run(0, "tokenize", "-m", model, "--ids", "--no-bos", "<|endoftext|>");
        String special = run(0, "tokenize", "-m", model, "--ids", "--no-bos", "--parse-special", "<|endoftext|>");
        assertEquals("[1280]", special.strip());
        assertNotEquals(special, plain);
        Path file = Files.writeString(dir.resolve("prompt.txt"), c.prompt());
        assertEquals(run(0, "tokenize", "-m", model, "--ids", c.prompt()), run(0, "tokenize", "-m", model, "--ids", "-f", file.toString()));
    }

    @Test
    void vocabularyOnlyFilesWork() {
        Path vocab = LlamaCppCases.dir().getParent().resolve("models").resolve("ggml-vocab-gpt-2.gguf");
        assertEquals("[15496, 995]", run(0, "tokenize", "-m", vocab.toString(), "--ids", "Hello world").strip());
    }

    @Test
    void missingTextIsAnError() {
        run(2, "tokenize", "-m", "nowhere.gguf");
    }
}
