package io.llmnpu.runtime.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.llmnpu.runtime.model.SharedModels;
import io.llmnpu.runtime.model.gguf.GgufFile;
import io.llmnpu.runtime.tokenizer.Llama2cTokenizerReader;
import io.llmnpu.runtime.tokenizer.SentencePieceTokenizer;
import io.llmnpu.runtime.tokenizer.Tokenizer;
import io.llmnpu.runtime.tokenizer.Tokenizers;
import io.llmnpu.runtime.tokenizer.Utf8StreamDecoder;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;

/**
 * Encode/decode round trip of every tokenizer on any text: decoding the encoding gives the text back
 * (with and without BOS), and streaming the decoded bytes token by token gives the same text without
 * replacement characters. The first input byte picks the tokenizer, the rest is the text.
 *
 * <p>Two kinds of text cannot come back and are left out: lone surrogates (UTF-8 has no encoding for
 * them; they become '?', as {@code String.getBytes} does) and, for vocabularies that store the space
 * as U+2581, that character itself. To add a tokenizer, add it to {@link #load()}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TokenizerFuzzTest {
    /** A tokenizer and whether U+2581 in a text survives it. */
    private record Subject(String name, Tokenizer tokenizer, boolean keepsU2581) {
    }

    private final List<Subject> subjects = new ArrayList<>();

    @BeforeAll
    void load() throws IOException {
        subjects.add(new Subject("tok512.bin", Llama2cTokenizerReader.read(SharedModels.file("tok512.bin"), 512), true));
        subjects.add(new Subject("tokenizer.bin", Llama2cTokenizerReader.read(SharedModels.file("tokenizer.bin"), 32000), true));
        subjects.add(gguf("ggml-vocab-llama-spm.gguf", false));
        subjects.add(gguf("ggml-vocab-gpt-2.gguf", true));
    }

    /** A vocabulary-only GGUF's tokenizer (it lives on the heap, so the mapping can go). */
    private static Subject gguf(String name, boolean keepsU2581) {
        Path file = SharedModels.file(name);
        try (Arena arena = Arena.ofConfined()) {
            return new Subject(name, Tokenizers.fromGguf(GgufFile.open(file, arena).metadata(), file), keepsU2581);
        }
    }

    @FuzzTest(maxDuration = "30m")
    void decodingTheEncodingGivesTheTextBack(FuzzedDataProvider data) {
        Subject subject = subjects.get(data.consumeInt(0, subjects.size() - 1));
        String text = data.consumeRemainingAsString();
        if (hasLoneSurrogate(text) || (!subject.keepsU2581() && text.indexOf(SentencePieceTokenizer.SENTENCEPIECE_SPACE) >= 0)) {
            return;
        }
        Tokenizer tokenizer = subject.tokenizer();
        String context = subject.name() + " on " + escape(text);
        assertEquals(text, tokenizer.decodeAll(tokenizer.encode(text, false)), context);
        int[] withBos = tokenizer.encode(text, true);
        assertEquals(text, tokenizer.decodeAll(withBos), context + " with BOS");
        Utf8StreamDecoder stream = new Utf8StreamDecoder();
        StringBuilder streamed = new StringBuilder();
        int previous = -1;
        for (int id : withBos) {
            String piece = stream.push(tokenizer.decode(previous, id));
            if (text.indexOf('\uFFFD') < 0) {
                assertFalse(piece.contains("\uFFFD"), context + ": token " + id + " streamed a replacement character");
            }
            streamed.append(piece);
            previous = id;
        }
        assertEquals(text, streamed.append(stream.flush()).toString(), context + " streamed");
    }

    private static boolean hasLoneSurrogate(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return true;
            }
        }
        return false;
    }

    private static String escape(String text) {
        StringBuilder sb = new StringBuilder("\"");
        text.codePoints().forEach(cp -> sb.append(cp >= 0x20 && cp < 0x7F ? Character.toString(cp) : String.format("\\u{%X}", cp)));
        return sb.append('"').toString();
    }
}
