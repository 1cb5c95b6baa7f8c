package io.llmnpu.runtime.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits text into the words GPT-2's BPE works on, with the semantics of its regular expression
 * <pre>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</pre>
 * (alternatives tried in order, leftmost match, {@code \s} = Unicode White_Space). It is a hand-written
 * scanner rather than {@link java.util.regex.Pattern} because it runs in linear time without
 * backtracking on long whitespace runs, and it matches llama.cpp's hand-written GPT-2 splitter.
 * Contractions are matched case-sensitively, as in GPT-2.
 */
final class Gpt2PreTokenizer implements PreTokenizer {

    @Override
    public List<String> split(String text) {
        List<String> words = new ArrayList<>();
        int end = text.length();
        int pos = 0;
        while (pos < end) {
            int next = wordEnd(text, pos, end);
            words.add(text.substring(pos, next));
            pos = next;
        }
        return words;
    }

    private static int wordEnd(String text, int pos, int end) {
        int cp = text.codePointAt(pos);
        if (cp == '\'') {
            int contraction = contractionLength(text, pos + 1, end);
            if (contraction > 0) {
                return pos + 1 + contraction;
            }
        }
        // " ?\p{L}+", " ?\p{N}+" and " ?[^\s\p{L}\p{N}]+" share the optional leading space.
        int body = cp == ' ' ? pos + 1 : pos;
        if (body < end) {
            int first = text.codePointAt(body);
            CharClass kind = CharClass.of(first);
            if (kind != CharClass.WHITESPACE) {
                int i = body + Character.charCount(first);
                while (i < end) {
                    int c = text.codePointAt(i);
                    if (CharClass.of(c) != kind) {
                        break;
                    }
                    i += Character.charCount(c);
                }
                return i;
            }
        }
        // Here text[pos] is whitespace. "\s+(?!\S)" leaves the last whitespace of a run that is
        // followed by a non-space to start the next word (" ?\p{L}+" etc.); a single one falls to "\s+".
        int i = pos;
        int last = pos;
        while (i < end) {
            int c = text.codePointAt(i);
            if (!CharClass.isWhitespace(c)) {
                break;
            }
            last = i;
            i += Character.charCount(c);
        }
        if (i < end && last > pos) {
            return last;
        }
        return i;
    }

    /** Length of "s|t|re|ve|m|ll|d" at {@code at}, or 0. */
    private static int contractionLength(String text, int at, int end) {
        if (at >= end) {
            return 0;
        }
        char a = text.charAt(at);
        if (a == 's' || a == 't' || a == 'm' || a == 'd') {
            return 1;
        }
        if (at + 1 < end) {
            char b = text.charAt(at + 1);
            if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) {
                return 2;
            }
        }
        return 0;
    }

    /** The character classes the GPT-2 expression tells apart. */
    enum CharClass {
        LETTER, NUMBER, WHITESPACE, OTHER;

        static CharClass of(int cp) {
            if (isWhitespace(cp)) {
                return WHITESPACE;
            }
            if (Character.isLetter(cp)) {
                return LETTER;
            }
            return switch (Character.getType(cp)) {
                case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER -> NUMBER;
                default -> OTHER;
            };
        }

        /** Unicode White_Space, which is what {@code \s} means in the Python and C++ implementations. */
        static boolean isWhitespace(int cp) {
            return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                    || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F
                    || cp == 0x205F || cp == 0x3000;
        }
    }
}
