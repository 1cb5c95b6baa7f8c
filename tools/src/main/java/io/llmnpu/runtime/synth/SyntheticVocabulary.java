package io.llmnpu.runtime.synth;

import io.llmnpu.runtime.tokenizer.TokenType;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A SentencePiece-style vocabulary of any size, laid out as Llama's: {@code <unk>}, {@code <s>},
 * {@code </s>}, the 256 byte-fallback tokens {@code <0x00>..<0xFF>}, then made-up pieces. The pieces
 * are single characters, then U+2581 (the SentencePiece space) plus a letter string and the same
 * string without it, enumerating a, b, .., z, aa, ab, .. so that every piece's prefixes are pieces
 * too and any text tokenizes (bytes cover the rest). Scores fall with the id, as in real
 * SentencePiece models, so merges prefer short, early pieces.
 *
 * @param tokens pieces by id
 * @param scores one per token
 * @param types  GGUF token types ({@link TokenType} codes) per token
 */
public record SyntheticVocabulary(List<String> tokens, List<Float> scores, List<Integer> types) {
    public static final int UNKNOWN = 0;
    public static final int BOS = 1;
    public static final int EOS = 2;
    private static final String SPACE = "\u2581";
    private static final String SINGLES = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'\"-:;()";

    public SyntheticVocabulary {
        tokens = List.copyOf(tokens);
        scores = List.copyOf(scores);
        types = List.copyOf(types);
    }

    public static SyntheticVocabulary of(int size) {
        if (size < ModelShape.MIN_VOCAB) {
            throw new IllegalArgumentException("a vocabulary needs at least " + ModelShape.MIN_VOCAB + " tokens, got " + size);
        }
        Builder b = new Builder(size);
        b.add("<unk>", 0f, TokenType.UNKNOWN);
        b.add("<s>", 0f, TokenType.CONTROL);
        b.add("</s>", 0f, TokenType.CONTROL);
        for (int i = 0; i < 256; i++) {
            b.add(String.format(Locale.ROOT, "<0x%02X>", i), 0f, TokenType.BYTE);
        }
        b.normal(SPACE);
        for (int i = 0; i < SINGLES.length(); i++) {
            b.normal(SINGLES.substring(i, i + 1));
        }
        for (int i = 0; i < 52; i++) {
            b.normal(SPACE + SINGLES.charAt(i));
        }
        for (long n = 26 + 1; !b.full(); n++) {
            String letters = letters(n);
            b.normal(SPACE + letters);
            b.normal(letters);
        }
        return b.build();
    }

    /** The n-th (from 1) string in bijective base 26 over a..z: a, .., z, aa, ab, .., zz, aaa, .. */
    static String letters(long n) {
        StringBuilder s = new StringBuilder();
        for (long v = n; v > 0; v = (v - 1) / 26) {
            s.append((char) ('a' + (v - 1) % 26));
        }
        return s.reverse().toString();
    }

    private static final class Builder {
        private final int size;
        private final List<String> tokens = new ArrayList<>();
        private final List<Float> scores = new ArrayList<>();
        private final List<Integer> types = new ArrayList<>();
        private final Set<String> seen = new HashSet<>();
        private int normals;

        Builder(int size) {
            this.size = size;
        }

        boolean full() {
            return tokens.size() >= size;
        }

        void add(String piece, float score, TokenType type) {
            if (full()) {
                return;
            }
            if (!seen.add(piece)) {
                throw new IllegalStateException("duplicate piece " + piece);
            }
            tokens.add(piece);
            scores.add(score);
            types.add(type.code());
        }

        void normal(String piece) {
            add(piece, -(float) normals++, TokenType.NORMAL);
        }

        SyntheticVocabulary build() {
            return new SyntheticVocabulary(tokens, scores, types);
        }
    }
}
