package io.llmnpu.runtime.tokenizer;

import io.llmnpu.runtime.tokenizer.Gpt2PreTokenizer.CharClass;
import java.util.ArrayList;
import java.util.List;

/**
 * The pre-tokenizer of Llama 3 ({@code llama-bpe}) and, with single digits, of Qwen2 ({@code qwen2}):
 * the semantics of
 * <pre>(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+</pre>
 * ({@code \p{N}} alone instead of {@code \p{N}{1,3}} for Qwen2), alternatives tried in order at each
 * position, {@code \s} = Unicode White_Space.
 */
final class Llama3PreTokenizer implements PreTokenizer {
    private final int maxDigits;

    /** @param maxDigits longest run of digits one word takes: 3 for Llama 3, 1 for Qwen2 */
    Llama3PreTokenizer(int maxDigits) {
        if (maxDigits < 1) {
            throw new IllegalArgumentException("maxDigits must be positive");
        }
        this.maxDigits = maxDigits;
    }

    @Override
    public List<String> split(String text) {
        List<String> words = new ArrayList<>();
        int pos = 0;
        while (pos < text.length()) {
            int next = wordEnd(text, pos);
            words.add(text.substring(pos, next));
            pos = next;
        }
        return words;
    }

    private int wordEnd(String text, int pos) {
        int end = text.length();
        int cp = text.codePointAt(pos);
        // (?i:'s|'t|'re|'ve|'m|'ll|'d)
        if (cp == '\'') {
            int contraction = contractionLength(text, pos + 1);
            if (contraction > 0) {
                return pos + 1 + contraction;
            }
        }
        CharClass kind = CharClass.of(cp);
        int afterFirst = pos + Character.charCount(cp);
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if (kind == CharClass.LETTER) {
            return run(text, pos, CharClass.LETTER);
        }
        if (kind != CharClass.NUMBER && !isNewline(cp) && afterFirst < end
                && CharClass.of(text.codePointAt(afterFirst)) == CharClass.LETTER) {
            return run(text, afterFirst, CharClass.LETTER);
        }
        // \p{N}{1,maxDigits}
        if (kind == CharClass.NUMBER) {
            int i = pos;
            for (int n = 0; n < maxDigits && i < end && CharClass.of(text.codePointAt(i)) == CharClass.NUMBER; n++) {
                i += Character.charCount(text.codePointAt(i));
            }
            return i;
        }
        // " ?[^\s\p{L}\p{N}]+[\r\n]*"
        int body = cp == ' ' ? afterFirst : pos;
        if (body < end && CharClass.of(text.codePointAt(body)) == CharClass.OTHER) {
            int i = run(text, body, CharClass.OTHER);
            while (i < end && isNewline(text.charAt(i))) {
                i++;
            }
            return i;
        }
        // Here text[pos] is whitespace.
        int runEnd = pos;
        int lastNewlineEnd = -1;
        int lastStart = pos;
        while (runEnd < end) {
            int c = text.codePointAt(runEnd);
            if (!CharClass.isWhitespace(c)) {
                break;
            }
            lastStart = runEnd;
            runEnd += Character.charCount(c);
            if (isNewline(c)) {
                lastNewlineEnd = runEnd;
            }
        }
        // \s*[\r\n]+ : up to the last newline of the run
        if (lastNewlineEnd > 0) {
            return lastNewlineEnd;
        }
        // \s+(?!\S) : a run followed by a non-space leaves its last character to the next word,
        // unless that would leave nothing (then \s+ takes the single character)
        if (runEnd < end && lastStart > pos) {
            return lastStart;
        }
        return runEnd;
    }

    private static int run(String text, int from, CharClass kind) {
        int i = from;
        while (i < text.length()) {
            int c = text.codePointAt(i);
            if (CharClass.of(c) != kind) {
                break;
            }
            i += Character.charCount(c);
        }
        return i;
    }

    private static boolean isNewline(int cp) {
        return cp == '\r' || cp == '\n';
    }

    /** Length of "s|t|re|ve|m|ll|d" in either ASCII case at {@code at}, or 0. */
    private static int contractionLength(String text, int at) {
        if (at >= text.length()) {
            return 0;
        }
        char a = asciiLower(text.charAt(at));
        if (a == 's' || a == 't' || a == 'm' || a == 'd') {
            return 1;
        }
        if (at + 1 < text.length()) {
            char b = asciiLower(text.charAt(at + 1));
            if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) {
                return 2;
            }
        }
        return 0;
    }

    private static char asciiLower(char c) {
        return c >= 'A' && c <= 'Z' ? (char) (c + ('a' - 'A')) : c;
    }
}
