package io.llmnpu.runtime.server;

import java.util.List;

/**
 * The OpenAI sampling fields of a request, validated; null where the client left a field out.
 *
 * @param temperature      0..2 (0 = greedy); OpenAI's default is 1
 * @param topP             (0, 1]
 * @param maxTokens        1..context length
 * @param stop             up to 4 non-empty stop sequences
 * @param seed             random seed
 * @param presencePenalty  -2..2
 * @param frequencyPenalty -2..2
 * @param ignoreEos        keep generating past end-of-sequence (llama.cpp's extension {@code ignore_eos}, for benchmarks)
 */
public record SamplingParams(Float temperature, Float topP, Integer maxTokens, List<String> stop, Long seed,
                             float presencePenalty, float frequencyPenalty, boolean ignoreEos) {
}
