package io.llmnpu.runtime.tokenizer;

/**
 * The symbols of a text being merged by BPE: each symbol is a span of the text, linked to its
 * neighbours so that merging two symbols is O(1) and never shifts the rest of the text. Merged-away
 * symbols keep length 0, which is how stale candidate pairs are recognised.
 */
final class SymbolChain {
    final int[] start;
    final int[] length;
    final int[] prev;
    final int[] next;
    final int count;

    /** One symbol per Unicode code point of {@code text}. */
    static SymbolChain ofCodePoints(String text) {
        int n = text.codePointCount(0, text.length());
        SymbolChain chain = new SymbolChain(n);
        int offset = 0;
        for (int i = 0; i < n; i++) {
            int width = Character.charCount(text.codePointAt(offset));
            chain.start[i] = offset;
            chain.length[i] = width;
            offset += width;
        }
        return chain;
    }

    private SymbolChain(int count) {
        this.count = count;
        start = new int[count];
        length = new int[count];
        prev = new int[count];
        next = new int[count];
        for (int i = 0; i < count; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < count ? i + 1 : -1;
        }
    }

    /** Appends the right symbol to the left one and unlinks the right one. */
    void merge(int left, int right) {
        length[left] += length[right];
        length[right] = 0;
        next[left] = next[right];
        if (next[right] >= 0) {
            prev[next[right]] = left;
        }
    }

    /** Whether the pair (left, right) is still adjacent and unchanged since it spanned {@code span} chars. */
    boolean isCurrent(int left, int right, int span) {
        return length[left] > 0 && length[right] > 0 && next[left] == right
                && length[left] + length[right] == span;
    }

    String text(String source, int symbol) {
        return source.substring(start[symbol], start[symbol] + length[symbol]);
    }

    String pairText(String source, int left, int right) {
        return source.substring(start[left], start[right] + length[right]);
    }
}
