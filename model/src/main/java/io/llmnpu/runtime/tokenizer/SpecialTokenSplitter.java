package io.llmnpu.runtime.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Takes special tokens out of text before the text is tokenized, as llama.cpp does: the text of every
 * user-defined token found in the input becomes that token; control and unknown tokens (such as
 * {@code <|eot_id|>} or {@code <s>}) only when special tokens are parsed (llama-tokenize's
 * {@code --parse-special}, chat prompts), otherwise they are plain text. Longer tokens are taken first,
 * so {@code <|im_start|>} wins over a shorter token inside it.
 */
final class SpecialTokenSplitter {

    /** A piece of the input: text still to tokenize, or a token already decided. */
    sealed interface Fragment {
    }

    record Text(String text) implements Fragment {
    }

    record Token(int id) implements Fragment {
    }

    private final int[] ids;
    private final String[] texts;
    private final boolean[] control;
    private final boolean[] stripRight;

    /**
     * @param pieces     the vocabulary as stored
     * @param types      the type of every entry
     * @param stripRight whether whitespace after a special token is dropped (per id; null for none)
     */
    SpecialTokenSplitter(String[] pieces, TokenType[] types, boolean[] stripRight) {
        int[] special = IntStream.range(0, pieces.length)
                .filter(id -> !pieces[id].isEmpty())
                .filter(id -> types[id] == TokenType.CONTROL || types[id] == TokenType.USER_DEFINED
                        || types[id] == TokenType.UNKNOWN)
                .boxed()
                .sorted(Comparator.comparingInt((Integer id) -> -pieces[id].length()).thenComparingInt(id -> id))
                .mapToInt(Integer::intValue).toArray();
        this.ids = special;
        this.texts = new String[special.length];
        this.control = new boolean[special.length];
        this.stripRight = new boolean[special.length];
        for (int i = 0; i < special.length; i++) {
            texts[i] = pieces[special[i]];
            control[i] = types[special[i]] != TokenType.USER_DEFINED;
            this.stripRight[i] = stripRight != null && stripRight[special[i]];
        }
    }

    /** Whether any special token could be found in text. */
    boolean isEmpty() {
        return ids.length == 0;
    }

    /** The fragments of {@code text}, in order. */
    List<Fragment> split(String text, boolean parseSpecial) {
        List<Fragment> fragments = new ArrayList<>();
        if (text.isEmpty()) {
            return fragments;
        }
        fragments.add(new Text(text));
        for (int s = 0; s < ids.length; s++) {
            if (control[s] && !parseSpecial) {
                continue;
            }
            List<Fragment> next = new ArrayList<>(fragments.size() + 2);
            for (Fragment f : fragments) {
                if (f instanceof Text(String t)) {
                    splitOne(t, s, next);
                } else {
                    next.add(f);
                }
            }
            fragments = next;
        }
        return fragments;
    }

    private void splitOne(String text, int s, List<Fragment> out) {
        String token = texts[s];
        int from = 0;
        while (true) {
            int at = text.indexOf(token, from);
            if (at < 0) {
                break;
            }
            if (at > from) {
                out.add(new Text(text.substring(from, at)));
            }
            out.add(new Token(ids[s]));
            from = at + token.length();
            if (stripRight[s]) {
                while (from < text.length() && isAsciiSpace(text.charAt(from))) {
                    from++;
                }
            }
        }
        if (from < text.length()) {
            out.add(new Text(text.substring(from)));
        }
    }

    /** C's isspace, which llama.cpp strips with. */
    private static boolean isAsciiSpace(char c) {
        return c == ' ' || (c >= '\t' && c <= '\r');
    }
}
