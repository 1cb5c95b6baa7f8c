package io.llmnpu.runtime.api;

import io.llmnpu.runtime.sampling.SamplerConfig;
import java.util.List;
import java.util.Objects;

/**
 * How to generate, apart from the prompt: used by chat and by the server.
 *
 * @param maxTokens        most new tokens to produce
 * @param sampler          how to choose each token
 * @param stopAtEos        stop when the model produces its end-of-sequence (or a new BOS) token
 * @param stop             texts that end the generation when produced; the text returned ends before them
 * @param presencePenalty  subtracted once from the logit of every token already in the sequence (0 = off)
 * @param frequencyPenalty subtracted from a token's logit once per time it occurs in the sequence (0 = off)
 */
public record GenerationOptions(int maxTokens, SamplerConfig sampler, boolean stopAtEos, List<String> stop,
                                float presencePenalty, float frequencyPenalty) {

    public GenerationOptions {
        Objects.requireNonNull(sampler, "sampler");
        if (maxTokens < 0) {
            throw new IllegalArgumentException("maxTokens must be >= 0, got " + maxTokens);
        }
        stop = stop == null ? List.of() : List.copyOf(stop);
        for (String s : stop) {
            if (s.isEmpty()) {
                throw new IllegalArgumentException("a stop sequence must not be empty");
            }
        }
        if (!Float.isFinite(presencePenalty) || !Float.isFinite(frequencyPenalty)) {
            throw new IllegalArgumentException("penalties must be finite numbers");
        }
    }

    /** Greedy generation of up to {@code maxTokens} tokens, stopping at end-of-sequence. */
    public static GenerationOptions greedy(int maxTokens) {
        return new GenerationOptions(maxTokens, SamplerConfig.greedy(), true, List.of(), 0, 0);
    }

    /** A copy that also stops at {@code more}. */
    public GenerationOptions withMoreStops(List<String> more) {
        if (more.isEmpty()) {
            return this;
        }
        List<String> all = new java.util.ArrayList<>(stop);
        more.stream().filter(s -> !all.contains(s)).forEach(all::add);
        return new GenerationOptions(maxTokens, sampler, stopAtEos, all, presencePenalty, frequencyPenalty);
    }
}
