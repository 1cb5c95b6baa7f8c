package io.llmnpu.runtime.api;

import io.llmnpu.runtime.sampling.SamplerConfig;
import java.util.Objects;

/**
 * What to generate.
 *
 * @param prompt    text to continue (may be empty: generation starts from BOS)
 * @param maxTokens most new tokens to produce
 * @param sampler   how to choose each token
 * @param stopAtEos stop when the model produces its end-of-sequence (or a new BOS) token
 */
public record GenerationRequest(String prompt, int maxTokens, SamplerConfig sampler, boolean stopAtEos) {

    public GenerationRequest {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(sampler, "sampler");
        if (maxTokens < 0) {
            throw new IllegalArgumentException("maxTokens must be >= 0, got " + maxTokens);
        }
    }

    /** Greedy generation of up to {@code maxTokens} tokens. */
    public static GenerationRequest greedy(String prompt, int maxTokens) {
        return new GenerationRequest(prompt, maxTokens, SamplerConfig.greedy(), true);
    }
}
