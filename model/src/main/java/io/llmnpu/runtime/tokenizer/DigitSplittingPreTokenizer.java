package io.llmnpu.runtime.tokenizer;

import io.llmnpu.runtime.tokenizer.Gpt2PreTokenizer.CharClass;
import java.util.ArrayList;
import java.util.List;

/**
 * Every digit ({@code \p{N}}) a word of its own, the text between digits split by another
 * pre-tokenizer: llama.cpp's two-expression pre-tokenizers of StarCoder, SmolLM, Command-R and others
 * ({@code \p{N}}, then GPT-2's expression).
 */
final class DigitSplittingPreTokenizer implements PreTokenizer {
    private final PreTokenizer rest;

    DigitSplittingPreTokenizer(PreTokenizer rest) {
        this.rest = rest;
    }

    @Override
    public List<String> split(String text) {
        List<String> words = new ArrayList<>();
        int stretch = 0;
        int i = 0;
        while (i < text.length()) {
            int cp = text.codePointAt(i);
            int next = i + Character.charCount(cp);
            if (CharClass.of(cp) == CharClass.NUMBER) {
                if (stretch < i) {
                    words.addAll(rest.split(text.substring(stretch, i)));
                }
                words.add(text.substring(i, next));
                stretch = next;
            }
            i = next;
        }
        if (stretch < text.length()) {
            words.addAll(rest.split(text.substring(stretch)));
        }
        return words;
    }
}
