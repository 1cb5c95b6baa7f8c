package io.llmnpu.runtime.api;

/** Receives generated tokens as they are produced. */
@FunctionalInterface
public interface TokenListener {

    /**
     * @param tokenId the token sampled
     * @param text    the text it completes; empty while a multi-byte character is still incomplete
     */
    void onToken(int tokenId, String text);

    /**
     * Called once when the prompt has run, before the first token is sampled: the prompt's token ids
     * and the logits for the next token (arrays the caller must not keep; copy what is needed).
     */
    default void onPrompt(int[] promptIds, float[] logits) {
    }
}
