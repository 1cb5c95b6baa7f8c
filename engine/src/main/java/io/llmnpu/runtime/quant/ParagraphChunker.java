package io.llmnpu.runtime.quant;

import io.llmnpu.runtime.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Cuts a text into evaluation sequences: paragraphs (separated by blank lines) are grouped in order
 * while the group stays within {@code maxChars} characters (joined by one newline; a longer paragraph
 * stands alone), each group is encoded with BOS and cut to {@code maxTokens} tokens. Perplexity and
 * calibration both read text this way, so every sequence starts fresh from BOS on whole paragraphs.
 *
 * @param maxChars  the size a group of paragraphs may reach
 * @param maxTokens the longest sequence, BOS included
 */
public record ParagraphChunker(int maxChars, int maxTokens) {

    public static final ParagraphChunker DEFAULT = new ParagraphChunker(1200, 500);

    public ParagraphChunker {
        if (maxChars < 1 || maxTokens < 2) {
            throw new IllegalArgumentException("chunks need maxChars >= 1 and maxTokens >= 2, got " + maxChars
                    + " and " + maxTokens);
        }
    }

    /** The paragraphs of {@code text}: blank-line separated, trimmed, empty ones dropped. */
    public static List<String> paragraphs(String text) {
        List<String> out = new ArrayList<>();
        for (String p : text.replace("\r\n", "\n").split("\n[ \t]*\n")) {
            String t = p.strip();
            if (!t.isEmpty()) {
                out.add(t);
            }
        }
        return out;
    }

    /** Paragraph groups of at most {@link #maxChars} characters (single long paragraphs excepted). */
    public List<String> groups(String text) {
        List<String> out = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String p : paragraphs(text)) {
            if (current.isEmpty()) {
                current.append(p);
            } else if (current.length() + 1 + p.length() <= maxChars) {
                current.append('\n').append(p);
            } else {
                out.add(current.toString());
                current.setLength(0);
                current.append(p);
            }
        }
        if (!current.isEmpty()) {
            out.add(current.toString());
        }
        return out;
    }

    /**
     * The first {@code limit} groups (all if {@code limit <= 0}) as token sequences with BOS, each cut to
     * {@link #maxTokens}.
     */
    public List<int[]> sequences(String text, Tokenizer tokenizer, int limit) {
        List<int[]> out = new ArrayList<>();
        for (String group : groups(text)) {
            if (limit > 0 && out.size() >= limit) {
                break;
            }
            int[] ids = tokenizer.encode(group, tokenizer.bos() >= 0);
            out.add(ids.length > maxTokens ? Arrays.copyOf(ids, maxTokens) : ids);
        }
        return out;
    }
}
