package io.llmnpu.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.llmnpu.runtime.model.SharedModels;
import io.llmnpu.runtime.model.gguf.GgufFile;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Special tokens are taken out of the text before merging, as llama.cpp does: user-defined tokens
 * always, control tokens only with parse-special; longest first; a SentencePiece stretch after a
 * special token gets its own dummy prefix; Phi-3's chat tokens swallow the whitespace after them.
 */
class SpecialTokensTest {
    private static final Path FILE = Path.of("model.gguf");

    private static Map<String, Object> metadata(String name) {
        try (Arena arena = Arena.ofConfined()) {
            return new HashMap<>(GgufFile.open(SharedModels.file(name), arena).metadata());
        }
    }

    private static int[] concat(int[]... parts) {
        return Arrays.stream(parts).flatMapToInt(IntStream::of).toArray();
    }

    @Test
    void gpt2ControlTokensOnlyWithParseSpecial() {
        Tokenizer gpt2 = Tokenizers.fromGguf(metadata("ggml-vocab-gpt-2.gguf"), FILE);
        String text = "Hello<|endoftext|> world";
        int[] plain = gpt2.encode(text, false, false);
        assertFalse(IntStream.of(plain).anyMatch(id -> id == 50256), Arrays.toString(plain));
        assertArrayEquals(concat(gpt2.encode("Hello", false), new int[] {50256}, gpt2.encode(" world", false)),
                gpt2.encode(text, false, true));
        assertArrayEquals(new int[] {50256, 50256}, gpt2.encode("<|endoftext|><|endoftext|>", false, true));
    }

    @Test
    void sentencePieceStretchesAfterASpecialTokenGetTheirOwnPrefix() {
        Tokenizer spm = Tokenizers.fromGguf(metadata("ggml-vocab-llama-spm.gguf"), FILE);
        assertArrayEquals(concat(new int[] {1}, spm.encode("Hello", false), new int[] {2, 1}, spm.encode("world", false)),
                spm.encode("Hello</s><s>world", true, true));
        int[] plain = spm.encode("Hello</s>", false, false);
        assertFalse(IntStream.of(plain).anyMatch(id -> id == 2), Arrays.toString(plain));
    }

    /** A SentencePiece vocabulary of single characters plus the given special pieces. */
    private static SentencePieceTokenizer tiny(Map<String, TokenType> specials, boolean[] stripRight) {
        List<String> pieces = new ArrayList<>(List.of("<unk>", "<s>", "</s>"));
        List<TokenType> types = new ArrayList<>(List.of(TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL));
        for (char c : "\u2581abcdefghijklmnopqrstuvwxyz<>|\n".toCharArray()) {
            pieces.add(String.valueOf(c));
            types.add(TokenType.NORMAL);
        }
        specials.forEach((piece, type) -> {
            pieces.add(piece);
            types.add(type);
        });
        return new SentencePieceTokenizer(pieces, new float[pieces.size()], types.toArray(TokenType[]::new),
                new SentencePieceTokenizer.SpecialTokens(1, 2, 0), SentencePieceTokenizer.SENTENCEPIECE_SPACE, false,
                false, stripRight);
    }

    @Test
    void userDefinedTokensAreAlwaysTakenOutLongestFirst() {
        Map<String, TokenType> specials = new java.util.LinkedHashMap<>();
        specials.put("<x>", TokenType.USER_DEFINED);
        specials.put("<x><y>", TokenType.USER_DEFINED);
        specials.put("<|im_start|>", TokenType.CONTROL);
        SentencePieceTokenizer t = tiny(specials, null);
        int x = t.vocabSize() - 3;
        int xy = t.vocabSize() - 2;
        int imStart = t.vocabSize() - 1;
        int a = t.encode("a", false)[0];
        assertArrayEquals(new int[] {a, xy, x, a}, t.encode("a<x><y><x>a", false, false));
        int[] plain = t.encode("<|im_start|>a", false, false);
        assertFalse(IntStream.of(plain).anyMatch(id -> id == imStart), Arrays.toString(plain));
        assertArrayEquals(new int[] {imStart, a}, t.encode("<|im_start|>a", false, true));
    }

    @Test
    void stripRightDropsTheWhitespaceAfterAToken() {
        Map<String, TokenType> specials = Map.of("<|user|>", TokenType.CONTROL);
        boolean[] strip = new boolean[tiny(specials, null).vocabSize()];
        strip[strip.length - 1] = true;
        SentencePieceTokenizer t = tiny(specials, strip);
        int user = t.vocabSize() - 1;
        assertArrayEquals(concat(new int[] {user}, t.encode("hi", false)), t.encode("<|user|>\n hi", false, true));
        SentencePieceTokenizer keeps = tiny(specials, null);
        assertArrayEquals(concat(new int[] {user}, keeps.encode("\n hi", false)), keeps.encode("<|user|>\n hi", false, true));
    }

    @Test
    void phi3ModelsStripAfterTheirChatTokens() {
        Map<String, Object> meta = metadata("ggml-vocab-llama-spm.gguf");
        @SuppressWarnings("unchecked")
        List<Object> tokens = new ArrayList<>((List<Object>) meta.get("tokenizer.ggml.tokens"));
        @SuppressWarnings("unchecked")
        List<Object> types = new ArrayList<>((List<Object>) meta.get("tokenizer.ggml.token_type"));
        int user = tokens.size() - 1;
        tokens.set(user, "<|user|>");
        types.set(user, (long) TokenType.CONTROL.code());
        meta.put("tokenizer.ggml.tokens", tokens);
        meta.put("tokenizer.ggml.token_type", types);
        Tokenizer plain = Tokenizers.fromGguf(meta, FILE);
        meta.put("general.name", "Phi 3 Mini 4k Instruct".replace(' ', '-'));
        Tokenizer phi3 = Tokenizers.fromGguf(meta, FILE);
        assertArrayEquals(concat(new int[] {user}, plain.encode("Hi", false)), phi3.encode("<|user|>\nHi", false, true));
        assertArrayEquals(concat(new int[] {user}, plain.encode("\nHi", false)), plain.encode("<|user|>\nHi", false, true));
    }
}
