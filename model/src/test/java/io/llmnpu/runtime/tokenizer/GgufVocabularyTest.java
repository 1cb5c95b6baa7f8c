package io.llmnpu.runtime.tokenizer;

import io.llmnpu.runtime.model.SharedModels;
import io.llmnpu.runtime.model.gguf.GgufFile;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * llama.cpp's tokenizer test vectors (tests/test-tokenizer-0): each input of the {@code .inp} file
 * must encode to the ids on the same line of the {@code .out} file (made without BOS and without
 * parsing special tokens), and decode back to itself.
 */
class GgufVocabularyTest {
    private static final String SEPARATOR = "\n__ggml_vocab_test__\n";

    static Tokenizer load(Path gguf) {
        try (Arena arena = Arena.ofConfined()) {
            Map<String, Object> metadata = GgufFile.open(gguf, arena).metadata();
            return Tokenizers.fromGguf(metadata, gguf);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf"})
    void encodesEveryTestInputLikeLlamaCpp(String name) throws IOException {
        Path gguf = SharedModels.file(name);
        List<String> inputs = readInputs(SharedModels.file(name + ".inp"));
        List<int[]> expected = readOutputs(SharedModels.file(name + ".out"));
        assertEquals(expected.size(), inputs.size(), "inputs and expected outputs pair up");
        Tokenizer tokenizer = load(gguf);
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++) {
            int[] actual = tokenizer.encode(inputs.get(i), false);
            if (!Arrays.equals(expected.get(i), actual)) {
                failures.add("input " + i + " '" + inputs.get(i) + "': expected " + Arrays.toString(expected.get(i))
                        + " got " + Arrays.toString(actual));
            }
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
        for (String input : inputs) {
            assertEquals(input, tokenizer.decodeAll(tokenizer.encode(input, false)), "round trip");
            assertEquals(input, tokenizer.decodeAll(tokenizer.encode(input, true)), "round trip after BOS");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf"})
    void decodesTheReferenceIds(String name) throws IOException {
        Tokenizer tokenizer = load(SharedModels.file(name));
        List<String> inputs = readInputs(SharedModels.file(name + ".inp"));
        List<int[]> expected = readOutputs(SharedModels.file(name + ".out"));
        for (int i = 0; i < inputs.size(); i++) {
            assertEquals(inputs.get(i), tokenizer.decodeAll(expected.get(i)), "input " + i);
        }
    }

    /** The inputs: the file is a sequence of texts each followed by the separator. */
    static List<String> readInputs(Path inp) throws IOException {
        String content = Files.readString(inp, StandardCharsets.UTF_8);
        assertTrue(content.endsWith(SEPARATOR), "every input, the last included, ends with the separator");
        String body = content.substring(0, content.length() - SEPARATOR.length());
        return List.of(body.split(SEPARATOR, -1));
    }

    static List<int[]> readOutputs(Path out) throws IOException {
        List<int[]> ids = new ArrayList<>();
        for (String line : Files.readAllLines(out, StandardCharsets.UTF_8)) {
            String trimmed = line.strip();
            ids.add(trimmed.isEmpty() ? new int[0]
                    : Arrays.stream(trimmed.split(" +")).mapToInt(Integer::parseInt).toArray());
        }
        return ids;
    }
}
