package io.llmnpu.runtime.tokenizer;

import java.util.List;

/**
 * Splits text into the words byte-level BPE merges within (a merge never crosses a word boundary).
 * Implementations follow a model's regular expression exactly but are hand-written scanners, linear
 * in the text and free of regex backtracking on long runs.
 */
interface PreTokenizer {

    /** The words of {@code text}, in order; they concatenate to {@code text}. */
    List<String> split(String text);
}
