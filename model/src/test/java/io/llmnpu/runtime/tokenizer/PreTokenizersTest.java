package io.llmnpu.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Each hand-written pre-tokenizer against its model's regular expression run by java.util.regex
 * (with Unicode classes), on edge cases and thousands of random texts.
 */
class PreTokenizersTest {
    private static final String CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
    private static final String GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    private static final String LLAMA3 = CONTRACTIONS + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String QWEN2 = LLAMA3.replace("\\p{N}{1,3}", "\\p{N}");

    private static final List<String> EDGE_CASES = List.of("", " ", "  ", "a  b", "a \t b", "'s'S 're'RE'Ll", " 'll",
            "x'", "\n\n  \n", "hello   ", "  hello", "a\u00A0\u00A0b", "1 22 333 4444 55555", "é", " !!", "\u3000x",
            "(hello) [world]!\n\n", "  \r\n  \r\nx", "\t\tfoo", "$100,000.00", "don't DON'T", "\u00A0\u00A0\n x",
            "ab12cd345", "…!? ¿qué?", "😀😀 x", " \n", "\n ", "a\n\n\nb", "==>\r\n", "x  \n  y");

    private static List<String> regexWords(Pattern pattern, String text) {
        List<String> words = new ArrayList<>();
        Matcher m = pattern.matcher(text);
        int end = 0;
        while (m.find()) {
            assertEquals(end, m.start(), "the expression skipped text in " + TokenizerRoundTripTest.escape(text));
            words.add(m.group());
            end = m.end();
        }
        assertEquals(text.length(), end, "the expression left text over in " + TokenizerRoundTripTest.escape(text));
        return words;
    }

    private static List<String> expected(PreTokenizerType type, String text) {
        return switch (type) {
            case GPT2 -> regexWords(Pattern.compile(GPT2, Pattern.UNICODE_CHARACTER_CLASS), text);
            case LLAMA3 -> regexWords(Pattern.compile(LLAMA3, Pattern.UNICODE_CHARACTER_CLASS), text);
            case QWEN2 -> regexWords(Pattern.compile(QWEN2, Pattern.UNICODE_CHARACTER_CLASS), text);
            case DIGITS_THEN_GPT2 -> {
                // llama.cpp applies \p{N} first (matches and the text between them), then GPT-2 within each piece
                List<String> words = new ArrayList<>();
                Matcher digits = Pattern.compile("\\p{N}").matcher(text);
                int from = 0;
                Pattern gpt2 = Pattern.compile(GPT2, Pattern.UNICODE_CHARACTER_CLASS);
                while (digits.find()) {
                    if (digits.start() > from) {
                        words.addAll(regexWords(gpt2, text.substring(from, digits.start())));
                    }
                    words.add(digits.group());
                    from = digits.end();
                }
                if (from < text.length()) {
                    words.addAll(regexWords(gpt2, text.substring(from)));
                }
                yield words;
            }
        };
    }

    @ParameterizedTest
    @EnumSource(PreTokenizerType.class)
    void wordsMatchTheRegularExpression(PreTokenizerType type) {
        PreTokenizer preTokenizer = type.create();
        List<String> texts = new ArrayList<>(EDGE_CASES);
        RandomText random = new RandomText(17 + type.ordinal(), true);
        for (int i = 0; i < 3000; i++) {
            texts.add(random.next(24));
        }
        for (String text : texts) {
            assertEquals(expected(type, text), preTokenizer.split(text), type + ": " + TokenizerRoundTripTest.escape(text));
        }
    }

    @ParameterizedTest
    @EnumSource(PreTokenizerType.class)
    void everyTypeHasItsGgufNames(PreTokenizerType type) {
        assertTrue(PreTokenizerType.names().stream().anyMatch(n -> PreTokenizerType.forName(n).orElseThrow() == type));
    }

    @org.junit.jupiter.api.Test
    void llamaAndQwenDifferInDigitGroups() {
        assertEquals(List.of("123", "456", "7"), new Llama3PreTokenizer(3).split("1234567"));
        assertEquals(List.of("1", "2", "3"), new Llama3PreTokenizer(1).split("123"));
        assertEquals(List.of("Hello", ",", " world", "'S", "!\n\n", "  ", " x"), new Llama3PreTokenizer(3).split("Hello, world'S!\n\n   x"));
    }
}
