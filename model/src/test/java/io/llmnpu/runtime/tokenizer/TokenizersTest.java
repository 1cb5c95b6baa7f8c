package io.llmnpu.runtime.tokenizer;

import io.llmnpu.runtime.model.ModelFormatException;
import io.llmnpu.runtime.model.SharedModels;
import io.llmnpu.runtime.model.gguf.GgufFile;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Building tokenizers from GGUF metadata, and rejecting metadata that cannot describe one. */
class TokenizersTest {
    private static final Path FILE = Path.of("model.gguf");

    private static Map<String, Object> metadata(String name) {
        try (Arena arena = Arena.ofConfined()) {
            return new HashMap<>(GgufFile.open(SharedModels.file(name), arena).metadata());
        }
    }

    private static void assertRejected(Map<String, Object> metadata, String... messageParts) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Tokenizers.fromGguf(metadata, FILE));
        assertEquals(FILE, e.file());
        for (String part : messageParts) {
            assertTrue(e.getMessage().contains(part), "'" + e.getMessage() + "' should mention '" + part + "'");
        }
    }

    @Test
    void theStories260kGgufTokenizesLikeItsLlama2cTokenizer() throws IOException {
        Tokenizer fromGguf = Tokenizers.fromGguf(metadata("stories260K.gguf"), FILE);
        Tokenizer fromBin = Llama2cTokenizerReader.read(SharedModels.file("tok512.bin"), 512);
        assertInstanceOf(SentencePieceTokenizer.class, fromGguf);
        assertEquals(512, fromGguf.vocabSize());
        assertEquals(1, fromGguf.bos());
        assertEquals(2, fromGguf.eos());
        assertArrayEquals(new int[] {1, 403, 407, 261, 378}, fromGguf.encode("Once upon a time", true));
        RandomText texts = new RandomText(5, false);
        for (int i = 0; i < 100; i++) {
            String text = texts.next(20);
            assertArrayEquals(fromBin.encode(text, true), fromGguf.encode(text, true), TokenizerRoundTripTest.escape(text));
        }
    }

    @Test
    void readsTheSpecialTokensAndDefaults() {
        SentencePieceTokenizer spm = (SentencePieceTokenizer) Tokenizers.fromGguf(metadata("ggml-vocab-llama-spm.gguf"), FILE);
        assertEquals(0, spm.unknown());
        assertTrue(spm.addBosByDefault());
        assertEquals(TokenType.BYTE, spm.type(3));
        Gpt2BpeTokenizer gpt2 = (Gpt2BpeTokenizer) Tokenizers.fromGguf(metadata("ggml-vocab-gpt-2.gguf"), FILE);
        assertEquals(50257, gpt2.vocabSize());
        assertEquals(50256, gpt2.bos());
        assertEquals(50256, gpt2.eos());
        assertFalse(gpt2.addBosByDefault());
        assertEquals("gpt2-bpe", gpt2.kind());
        assertEquals(0, gpt2.decode(-1, 50256).length, "control tokens decode to nothing");
    }

    @Test
    void withoutSpacePrefixTheFirstWordHasNoSpace() {
        Map<String, Object> metadata = metadata("ggml-vocab-llama-spm.gguf");
        Tokenizer withPrefix = Tokenizers.fromGguf(metadata, FILE);
        metadata.put(Tokenizers.ADD_SPACE_PREFIX, false);
        Tokenizer without = Tokenizers.fromGguf(metadata, FILE);
        int[] ids = without.encode("Hello world", false);
        assertEquals("Hello", without.piece(ids[0]));
        assertEquals("\u2581Hello", withPrefix.piece(withPrefix.encode("Hello world", false)[0]));
        assertEquals("Hello world", without.decodeAll(ids));
    }

    @Test
    void noTokenIsStoredAsUint32MinusOne() {
        Map<String, Object> metadata = metadata("ggml-vocab-llama-spm.gguf");
        metadata.put(Tokenizers.BOS, 0xFFFF_FFFFL);
        assertEquals(-1, Tokenizers.fromGguf(metadata, FILE).bos());
        assertArrayEquals(new int[] {15043}, Tokenizers.fromGguf(metadata, FILE).encode("Hello", true));
    }

    @Test
    void rejectsMissingAndUnknownModels() {
        Map<String, Object> metadata = metadata("ggml-vocab-llama-spm.gguf");
        metadata.remove(Tokenizers.MODEL);
        assertRejected(metadata, Tokenizers.MODEL, "missing");
        metadata.put(Tokenizers.MODEL, "bert");
        assertRejected(metadata, "unsupported tokenizer model bert");
        metadata.put(Tokenizers.MODEL, 3L);
        assertRejected(metadata, Tokenizers.MODEL, "string");
    }

    @Test
    void rejectsWrongTypesNamingTheKey() {
        Map<String, Object> base = metadata("ggml-vocab-llama-spm.gguf");
        Map<String, Object> m = new HashMap<>(base);
        m.put(Tokenizers.TOKENS, "not a list");
        assertRejected(m, Tokenizers.TOKENS);
        m = new HashMap<>(base);
        m.put(Tokenizers.TOKENS, List.of("a", 5L));
        assertRejected(m, Tokenizers.TOKENS, "element 1");
        m = new HashMap<>(base);
        m.remove(Tokenizers.SCORES);
        assertRejected(m, Tokenizers.SCORES, "missing");
        m = new HashMap<>(base);
        m.put(Tokenizers.SCORES, List.of(1.0f, 2.0f));
        assertRejected(m, Tokenizers.SCORES, "2 entries");
        m = new HashMap<>(base);
        List<Object> scores = new ArrayList<>((List<?>) base.get(Tokenizers.SCORES));
        scores.set(7, "x");
        m.put(Tokenizers.SCORES, scores);
        assertRejected(m, Tokenizers.SCORES, "element 7");
        m = new HashMap<>(base);
        List<Object> types = new ArrayList<>((List<?>) base.get(Tokenizers.TOKEN_TYPE));
        types.set(9, 42L);
        m.put(Tokenizers.TOKEN_TYPE, types);
        assertRejected(m, Tokenizers.TOKEN_TYPE, "[9] is 42");
        m = new HashMap<>(base);
        m.put(Tokenizers.BOS, 32000L);
        assertRejected(m, Tokenizers.BOS, "outside");
        m = new HashMap<>(base);
        m.put(Tokenizers.EOS, 2.0f);
        assertRejected(m, Tokenizers.EOS, "integer");
        m = new HashMap<>(base);
        m.put(Tokenizers.ADD_BOS, 1L);
        assertRejected(m, Tokenizers.ADD_BOS, "bool");
    }

    @Test
    void rejectsBrokenGpt2Metadata() {
        Map<String, Object> base = metadata("ggml-vocab-gpt-2.gguf");
        Map<String, Object> m = new HashMap<>(base);
        m.put(Tokenizers.PRE, "tekken");
        assertRejected(m, "unsupported pre-tokenizer tekken", "llama-bpe", "qwen2");
        m = new HashMap<>(base);
        m.remove(Tokenizers.MERGES);
        assertRejected(m, Tokenizers.MERGES);
        m = new HashMap<>(base);
        List<Object> merges = new ArrayList<>((List<?>) base.get(Tokenizers.MERGES));
        merges.set(3, "nospace");
        m.put(Tokenizers.MERGES, merges);
        assertRejected(m, Tokenizers.MERGES + "[3]");
        m = new HashMap<>(base);
        List<Object> tokens = new ArrayList<>((List<?>) base.get(Tokenizers.TOKENS));
        tokens.set(0, "!!");
        m.put(Tokenizers.TOKENS, tokens);
        assertRejected(m, "byte 0x21");
    }
}
