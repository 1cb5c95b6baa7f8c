package io.llmnpu.runtime.api;

/** Receives generated tokens as they are produced. */
@FunctionalInterface
public interface TokenListener {

    /**
     * @param tokenId the token sampled
     * @param text    the text it completes; empty while a multi-byte character is still incomplete
     */
    void onToken(int tokenId, String text);
}
