package io.llmnpu.runtime.api;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a generation produced and how fast.
 *
 * @param text            the generated text (without the prompt)
 * @param tokens          generated token ids
 * @param promptTokens    number of prompt tokens, BOS included
 * @param prefillNanos    time to process the prompt
 * @param decodeNanos     time to generate the tokens after the first
 * @param stopReason      why generation ended
 * @param prefilledTokens prompt tokens that actually ran through prefill: fewer than
 *                        {@code promptTokens} when a {@link Conversation} already held the rest in its cache
 * @param prefill         how the prompt ran: path, devices, time to first token
 */
public record GenerationResult(String text, int[] tokens, int promptTokens, long prefillNanos, long decodeNanos,
                               StopReason stopReason, int prefilledTokens, Prefill prefill) {

    /**
     * How the prompt ran.
     *
     * @param path       {@code float}, or the NPU path (e.g. {@code w8a8-shadow}) when INT8 linears ran on an NPU
     * @param ttftNanos  from the start of the prompt's prefill to the first generated token
     * @param deviceBusy each device that ran part of the prompt, with its busy share of the prefill's wall time
     * @param failovers  devices that failed or left while the prompt ran
     */
    public record Prefill(String path, long ttftNanos, Map<String, Double> deviceBusy, int failovers) {
        public Prefill {
            deviceBusy = Collections.unmodifiableMap(new LinkedHashMap<>(deviceBusy));
        }

        public static Prefill unknown() {
            return new Prefill("float", 0, Map.of(), 0);
        }
    }

    public GenerationResult {
        prefill = prefill == null ? Prefill.unknown() : prefill;
    }

    /** A result without prefill details. */
    public GenerationResult(String text, int[] tokens, int promptTokens, long prefillNanos, long decodeNanos,
                            StopReason stopReason, int prefilledTokens) {
        this(text, tokens, promptTokens, prefillNanos, decodeNanos, stopReason, prefilledTokens, null);
    }

    public enum StopReason {
        /** maxTokens reached. */
        LENGTH,
        /** The model produced an end-of-sequence token. */
        END_OF_SEQUENCE,
        /** The context window is full. */
        CONTEXT_FULL,
        /** The caller cancelled. */
        CANCELLED,
        /** The text reached one of the request's stop sequences. */
        STOP_SEQUENCE
    }

    /** A result whose whole prompt ran through prefill. */
    public GenerationResult(String text, int[] tokens, int promptTokens, long prefillNanos, long decodeNanos,
                            StopReason stopReason) {
        this(text, tokens, promptTokens, prefillNanos, decodeNanos, stopReason, promptTokens);
    }

    /** Prompt tokens that came from the cache instead of prefill. */
    public int cachedTokens() {
        return promptTokens - prefilledTokens;
    }

    /** Prompt tokens processed per second (those that ran through prefill). */
    public double prefillTokensPerSecond() {
        return prefillNanos == 0 ? 0 : prefilledTokens * 1e9 / prefillNanos;
    }

    /** Time to first token, in seconds. */
    public double ttftSeconds() {
        return prefill.ttftNanos() * 1e-9;
    }

    /** Tokens generated per second, after the first (which comes out of prefill). */
    public double decodeTokensPerSecond() {
        return decodeNanos == 0 || tokens.length < 2 ? 0 : (tokens.length - 1) * 1e9 / decodeNanos;
    }
}
