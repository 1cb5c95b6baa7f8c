package io.llmnpu.runtime.tokenizer;

import java.util.Random;

/**
 * Random valid Unicode text for property tests: ASCII words and punctuation, accented Latin, CJK,
 * emoji and other supplementary-plane characters, combining marks, runs of (Unicode) whitespace
 * and newlines, and now and then any valid code point at all.
 */
final class RandomText {
    private static final String WHITESPACE = " \t\u00A0\u2003\u3000\u000B\f";
    private static final String PUNCTUATION = ".,;:!?'\"()[]{}<>-_/\\@#$%^&*+=|~`";
    private static final String[] WORDS = {"the", "a", "I'm", "we've", "don't", "Hello", "world", "<s>", "</s>",
            "<|endoftext|>", "<0x41>", "'s", "'LL", "123", "3.14", "naïve", "Größe", "日本語", "中文", "😀", "👍🏽",
            "👨‍👩‍👧"};

    private final Random random;
    private final boolean allowSentencePieceSpace;

    /**
     * @param allowSentencePieceSpace whether U+2581 may appear; SentencePiece vocabularies use it for
     *                                the space, so text containing it cannot survive a round trip there
     */
    RandomText(long seed, boolean allowSentencePieceSpace) {
        this.random = new Random(seed);
        this.allowSentencePieceSpace = allowSentencePieceSpace;
    }

    String next(int maxPieces) {
        StringBuilder sb = new StringBuilder();
        int pieces = random.nextInt(maxPieces + 1);
        for (int i = 0; i < pieces; i++) {
            switch (random.nextInt(12)) {
                case 0, 1 -> sb.append(WORDS[random.nextInt(WORDS.length)]);
                case 2 -> appendRange(sb, 'a', 'z', 1 + random.nextInt(8));
                case 3 -> appendRange(sb, 0xC0, 0x17F, 1 + random.nextInt(4));
                case 4 -> appendRange(sb, 0x4E00, 0x9FFF, 1 + random.nextInt(4));
                case 5 -> appendRange(sb, 0x1F300, 0x1FAFF, 1 + random.nextInt(3));
                case 6 -> appendRange(sb, 0x20000, 0x2A6DF, 1 + random.nextInt(2));
                case 7 -> appendRange(sb, 0x300, 0x36F, 1);
                case 8 -> {
                    int n = 1 + random.nextInt(random.nextBoolean() ? 2 : 12);
                    for (int k = 0; k < n; k++) {
                        sb.append(random.nextInt(3) == 0 ? WHITESPACE.charAt(random.nextInt(WHITESPACE.length())) : ' ');
                    }
                }
                case 9 -> sb.append(random.nextBoolean() ? "\n" : random.nextBoolean() ? "\r\n" : "\n\n\n");
                case 10 -> sb.append(PUNCTUATION.charAt(random.nextInt(PUNCTUATION.length())));
                default -> sb.appendCodePoint(anyCodePoint());
            }
        }
        return sb.toString();
    }

    private void appendRange(StringBuilder sb, int first, int last, int count) {
        for (int i = 0; i < count; i++) {
            int cp = first + random.nextInt(last - first + 1);
            sb.appendCodePoint(cp);
        }
    }

    private int anyCodePoint() {
        while (true) {
            int cp = random.nextInt(random.nextBoolean() ? 0x3000 : Character.MAX_CODE_POINT + 1);
            boolean surrogate = cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE;
            if (!surrogate && (allowSentencePieceSpace || cp != SentencePieceTokenizer.SENTENCEPIECE_SPACE)) {
                return cp;
            }
        }
    }
}
