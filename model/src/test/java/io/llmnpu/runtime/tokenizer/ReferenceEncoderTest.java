package io.llmnpu.runtime.tokenizer;

import io.llmnpu.runtime.model.SharedModels;
import io.llmnpu.runtime.model.gguf.GgufFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Compares the fast encoders with deliberately naive ones written the way the reference
 * implementations are: run.c's rescan-every-pair SentencePiece merging, OpenAI's GPT-2 {@code bpe()}
 * that merges every occurrence of the lowest-ranked pair, and the GPT-2 expression run by
 * {@link Pattern}.
 */
class ReferenceEncoderTest {
    private static final Pattern GPT2_WORDS = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);

    @ParameterizedTest
    @ValueSource(strings = {"tokenizer.bin", "ggml-vocab-llama-spm.gguf"})
    void sentencePieceMatchesRescanningMerges(String name) throws IOException {
        SentencePieceTokenizer tokenizer = (SentencePieceTokenizer) TokenizerRoundTripTest.tokenizer(name);
        char space = name.endsWith(".gguf") ? SentencePieceTokenizer.SENTENCEPIECE_SPACE : ' ';
        Map<String, Integer> ids = new HashMap<>();
        Map<Integer, Integer> byteIds = new HashMap<>();
        for (int id = tokenizer.vocabSize() - 1; id >= 0; id--) {
            TokenType type = tokenizer.type(id);
            if (type == TokenType.NORMAL || type == TokenType.USER_DEFINED) {
                ids.put(tokenizer.piece(id), id);
            } else if (type == TokenType.BYTE) {
                byteIds.put(Integer.parseInt(tokenizer.piece(id).substring(3, 5), 16), id);
            }
        }
        // Repeated characters make pairs of equal score, where only the leftmost may merge first.
        List<String> cases = new ArrayList<>(List.of("aaaaaaa", "     x", "!!!!!!!", "xxxxx yyyyy", "\n\n\n\n",
                "ababababa", "........", "ooooooooooooooooo"));
        RandomText texts = new RandomText(7, true);
        for (int i = 0; i < 200; i++) {
            cases.add(texts.next(30));
        }
        for (String text : cases) {
            int[] expected = rescanningMerge(text, space, tokenizer, ids, byteIds);
            assertArrayEquals(expected, tokenizer.encode(text, false), TokenizerRoundTripTest.escape(text));
        }
    }

    /** run.c's encode: tokens per code point (or its bytes), then merge the best pair until none is left. */
    private static int[] rescanningMerge(String text, char space, SentencePieceTokenizer tokenizer,
                                         Map<String, Integer> ids, Map<Integer, Integer> byteIds) {
        if (text.isEmpty()) {
            return new int[0];
        }
        String normalized = (" " + text).replace(' ', space);
        List<Integer> tokens = new ArrayList<>();
        normalized.codePoints().forEach(cp -> {
            Integer id = ids.get(Character.toString(cp));
            if (id != null) {
                tokens.add(id);
            } else {
                for (byte b : Character.toString(cp).getBytes(StandardCharsets.UTF_8)) {
                    tokens.add(byteIds.get(b & 0xFF));
                }
            }
        });
        while (true) {
            float bestScore = Float.NEGATIVE_INFINITY;
            int bestId = -1;
            int bestIndex = -1;
            for (int i = 0; i + 1 < tokens.size(); i++) {
                Integer merged = ids.get(tokenizer.piece(tokens.get(i)) + tokenizer.piece(tokens.get(i + 1)));
                if (merged != null && tokenizer.score(merged) > bestScore) {
                    bestScore = tokenizer.score(merged);
                    bestId = merged;
                    bestIndex = i;
                }
            }
            if (bestIndex < 0) {
                return tokens.stream().mapToInt(Integer::intValue).toArray();
            }
            tokens.set(bestIndex, bestId);
            tokens.remove(bestIndex + 1);
        }
    }

    @Test
    void gpt2MatchesOpenAiBpe() {
        Map<String, Object> metadata;
        try (Arena arena = Arena.ofConfined()) {
            metadata = GgufFile.open(SharedModels.file("ggml-vocab-gpt-2.gguf"), arena).metadata();
        }
        Tokenizer tokenizer = Tokenizers.fromGguf(metadata, SharedModels.file("ggml-vocab-gpt-2.gguf"));
        List<?> vocab = (List<?>) metadata.get("tokenizer.ggml.tokens");
        List<?> merges = (List<?>) metadata.get("tokenizer.ggml.merges");
        Map<String, Integer> ids = new HashMap<>();
        for (int id = 0; id < vocab.size(); id++) {
            ids.putIfAbsent((String) vocab.get(id), id);
        }
        Map<String, Integer> ranks = new HashMap<>();
        for (int rank = 0; rank < merges.size(); rank++) {
            ranks.putIfAbsent((String) merges.get(rank), rank);
        }
        Map<Integer, Character> byteChars = gpt2ByteChars();
        RandomText texts = new RandomText(11, true);
        for (int i = 0; i < 300; i++) {
            String text = texts.next(30);
            List<Integer> expected = new ArrayList<>();
            Matcher words = GPT2_WORDS.matcher(text);
            while (words.find()) {
                StringBuilder spelled = new StringBuilder();
                for (byte b : words.group().getBytes(StandardCharsets.UTF_8)) {
                    spelled.append(byteChars.get(b & 0xFF));
                }
                for (String symbol : openAiBpe(spelled.toString(), ranks)) {
                    expected.add(ids.get(symbol));
                }
            }
            assertArrayEquals(expected.stream().mapToInt(Integer::intValue).toArray(), tokenizer.encode(text, false),
                    TokenizerRoundTripTest.escape(text));
        }
    }

    /** The byte table as GPT-2's encoder.py builds it. */
    private static Map<Integer, Character> gpt2ByteChars() {
        List<Integer> printable = new ArrayList<>();
        for (int b = '!'; b <= '~'; b++) {
            printable.add(b);
        }
        for (int b = 0xA1; b <= 0xAC; b++) {
            printable.add(b);
        }
        for (int b = 0xAE; b <= 0xFF; b++) {
            printable.add(b);
        }
        Map<Integer, Character> table = new HashMap<>();
        int extra = 0;
        for (int b = 0; b < 256; b++) {
            table.put(b, printable.contains(b) ? (char) b : (char) (256 + extra++));
        }
        return table;
    }

    /** encoder.py's bpe(): merge every occurrence of the lowest-ranked pair until none is ranked. */
    private static List<String> openAiBpe(String word, Map<String, Integer> ranks) {
        List<String> symbols = new ArrayList<>();
        word.chars().forEach(c -> symbols.add(String.valueOf((char) c)));
        while (symbols.size() > 1) {
            String best = null;
            int bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < symbols.size(); i++) {
                Integer rank = ranks.get(symbols.get(i) + " " + symbols.get(i + 1));
                if (rank != null && rank < bestRank) {
                    bestRank = rank;
                    best = symbols.get(i) + " " + symbols.get(i + 1);
                }
            }
            if (best == null) {
                break;
            }
            String left = best.substring(0, best.indexOf(' '));
            String right = best.substring(best.indexOf(' ') + 1);
            List<String> merged = new ArrayList<>();
            for (int i = 0; i < symbols.size(); i++) {
                if (i + 1 < symbols.size() && symbols.get(i).equals(left) && symbols.get(i + 1).equals(right)) {
                    merged.add(left + right);
                    i++;
                } else {
                    merged.add(symbols.get(i));
                }
            }
            symbols.clear();
            symbols.addAll(merged);
        }
        return symbols;
    }

    @Test
    void gpt2WordsMatchTheRegularExpression() {
        Gpt2PreTokenizer preTokenizer = new Gpt2PreTokenizer();
        RandomText texts = new RandomText(3, true);
        List<String> cases = new ArrayList<>(List.of("", " ", "  ", "a  b", "a \t b", "'s'S 're'RE", " 'll", "x'",
                "\n\n  \n", "hello   ", "  hello", "a\u00A0\u00A0b", "1 22 333", "é", " !!", "\u3000x"));
        for (int i = 0; i < 2000; i++) {
            cases.add(texts.next(20));
        }
        for (String text : cases) {
            List<String> expected = new ArrayList<>();
            Matcher words = GPT2_WORDS.matcher(text);
            while (words.find()) {
                expected.add(words.group());
            }
            assertEquals(expected, preTokenizer.split(text), TokenizerRoundTripTest.escape(text));
        }
    }
}
