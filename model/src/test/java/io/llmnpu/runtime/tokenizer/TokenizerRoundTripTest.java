package io.llmnpu.runtime.tokenizer;

import io.llmnpu.runtime.model.SharedModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Properties every tokenizer must have on any valid text: decoding the encoding gives the text
 * back, and streaming the decoded bytes token by token through {@link Utf8StreamDecoder} never
 * shows a replacement character and concatenates to the same text.
 */
class TokenizerRoundTripTest {
    private static final int TEXTS_PER_TOKENIZER = 300;

    static Tokenizer tokenizer(String name) throws IOException {
        return switch (name) {
            case "tokenizer.bin" -> Llama2cTokenizerReader.read(SharedModels.file(name), 32000);
            case "tok512.bin" -> Llama2cTokenizerReader.read(SharedModels.file(name), 512);
            default -> GgufVocabularyTest.load(SharedModels.file(name));
        };
    }

    /** SentencePiece vocabularies with U+2581 for the space cannot give that character back. */
    private static boolean keepsSentencePieceSpace(String name) {
        return !name.equals("ggml-vocab-llama-spm.gguf");
    }

    @ParameterizedTest
    @ValueSource(strings = {"tokenizer.bin", "tok512.bin", "ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf"})
    void decodingTheEncodingGivesTheTextBack(String name) throws IOException {
        Tokenizer tokenizer = tokenizer(name);
        RandomText texts = new RandomText(0x5EED_0000L + name.hashCode(), keepsSentencePieceSpace(name));
        for (int i = 0; i < TEXTS_PER_TOKENIZER; i++) {
            String text = texts.next(40);
            String context = "text " + i + " " + escape(text);
            assertEquals(text, tokenizer.decodeAll(tokenizer.encode(text, false)), context);
            int[] withBos = tokenizer.encode(text, true);
            assertEquals(text, tokenizer.decodeAll(withBos), context + " with BOS");
            assertEquals(text, streamed(tokenizer, withBos), context + " streamed");
        }
    }

    /** Decodes like a generation loop that prints each token as soon as it arrives. */
    private static String streamed(Tokenizer tokenizer, int[] ids) {
        Utf8StreamDecoder decoder = new Utf8StreamDecoder();
        StringBuilder out = new StringBuilder();
        int previous = -1;
        for (int id : ids) {
            String piece = decoder.push(tokenizer.decode(previous, id));
            assertFalse(piece.contains("\uFFFD"), "token " + id + " produced a replacement character");
            out.append(piece);
            previous = id;
        }
        String rest = decoder.flush();
        assertTrue(rest.isEmpty(), "bytes left over at the end: " + escape(rest));
        return out.toString();
    }

    @ParameterizedTest
    @ValueSource(strings = {"ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf"})
    void encodesLongTextsQuickly(String name) throws IOException {
        Tokenizer tokenizer = tokenizer(name);
        RandomText texts = new RandomText(99, false);
        StringBuilder sb = new StringBuilder();
        while (sb.length() < 300_000) {
            sb.append(texts.next(50));
        }
        // One word of 100k letters and one run of 100k spaces: the worst cases for quadratic merging.
        String longText = sb + "x".repeat(100_000) + " ".repeat(100_000) + "end";
        int[] ids = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> tokenizer.encode(longText, false));
        assertEquals(longText, tokenizer.decodeAll(ids));
    }

    @Test
    void handlesTextThatIsOnlyBytesTheVocabularyLacks() throws IOException {
        Tokenizer tokenizer = tokenizer("tok512.bin");
        String text = "\uD83D\uDE00\u4E2D";
        int[] ids = tokenizer.encode(text, false);
        // A space piece, then 4 + 3 byte tokens (tok512 has neither character).
        assertEquals(1 + text.getBytes(StandardCharsets.UTF_8).length, ids.length);
        assertEquals(text, tokenizer.decodeAll(ids));
    }

    @ParameterizedTest
    @ValueSource(strings = {"tokenizer.bin", "ggml-vocab-gpt-2.gguf"})
    void encodesLoneSurrogatesAsQuestionMarksLikeStringGetBytes(String name) throws IOException {
        Tokenizer tokenizer = tokenizer(name);
        String broken = "a\uD800b\uDC00";
        assertEquals("a?b?", tokenizer.decodeAll(tokenizer.encode(broken, false)));
    }

    static String escape(String text) {
        StringBuilder sb = new StringBuilder("\"");
        text.codePoints().forEach(cp -> {
            if (cp >= 0x20 && cp < 0x7F) {
                sb.appendCodePoint(cp);
            } else {
                sb.append(String.format("\\u{%X}", cp));
            }
        });
        return sb.append('"').toString();
    }
}
