package io.llmnpu.runtime.api;

import io.llmnpu.runtime.engine.ForwardPass;
import io.llmnpu.runtime.engine.RunTrace;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import io.llmnpu.runtime.engine.InferenceSession;
import io.llmnpu.runtime.sampling.PenalizedSampler;
import io.llmnpu.runtime.sampling.Sampler;
import io.llmnpu.runtime.sampling.Samplers;
import io.llmnpu.runtime.tokenizer.Tokenizer;
import io.llmnpu.runtime.tokenizer.Utf8StreamDecoder;
import java.util.Arrays;

/**
 * The token-by-token loop of one generation on a session: prefill whatever part of the prompt the
 * session does not hold yet, then sample, stream and feed one token at a time until a stop condition.
 */
final class GenerationLoop {
    private final InferenceSession session;
    private final Tokenizer tokenizer;
    private final GenerationOptions options;
    private final TokenListener listener;
    private final CancellationToken cancel;
    /** The engine steps of the prompt (decode steps come after and replace the session's last feed). */
    private List<ForwardPass.Result> promptRuns = List.of();

    GenerationLoop(InferenceSession session, Tokenizer tokenizer, GenerationOptions options, TokenListener listener,
                   CancellationToken cancel) {
        this.session = session;
        this.tokenizer = tokenizer;
        this.options = options;
        this.listener = listener;
        this.cancel = cancel == null ? new CancellationToken() : cancel;
    }

    /**
     * Generates after {@code prompt}, whose first {@code session.position()} tokens the session already
     * holds (the caller has rewound it to the prefix they share).
     */
    GenerationResult run(int[] prompt) {
        int cached = session.position();
        if (cached >= prompt.length) {
            throw new IllegalStateException("the session holds " + cached + " of " + prompt.length
                    + " prompt tokens; at least the last one must run to give logits");
        }
        Sampler sampler = PenalizedSampler.wrap(Samplers.create(options.sampler()),
                options.presencePenalty(), options.frequencyPenalty());
        for (int t : prompt) {
            sampler.accept(t);
        }
        long t0 = System.nanoTime();
        float[] logits = feed(Arrays.copyOfRange(prompt, cached, prompt.length));
        long prefill = System.nanoTime() - t0;
        promptRuns = session.lastFeed();
        int prefilled = prompt.length - cached;
        if (logits == null) {
            return new GenerationResult("", new int[0], prompt.length, prefill, 0,
                    GenerationResult.StopReason.CANCELLED, prefilled, prefillInfo(prefill));
        }
        if (listener != null) {
            listener.onPrompt(prompt, logits);
        }
        long ttft = 0;
        GenerationResult.Prefill info = prefillInfo(prefill);
        long t1 = System.nanoTime();
        Utf8StreamDecoder utf8 = new Utf8StreamDecoder();
        StopMatcher stops = new StopMatcher(options.stop());
        StringBuilder text = new StringBuilder();
        // Bounded by the context as well: each token but the last takes a position.
        int[] out = new int[Math.max(0, Math.min(options.maxTokens(), session.capacity() - session.position() + 1))];
        int n = 0;
        int previous = prompt[prompt.length - 1];
        GenerationResult.StopReason reason = GenerationResult.StopReason.LENGTH;
        while (n < options.maxTokens()) {
            if (cancel.isCancelled()) {
                reason = GenerationResult.StopReason.CANCELLED;
                break;
            }
            int token = sampler.sample(logits);
            if (options.stopAtEos() && (token == tokenizer.eos() || token == tokenizer.bos())) {
                reason = GenerationResult.StopReason.END_OF_SEQUENCE;
                break;
            }
            sampler.accept(token);
            if (n == 0) {
                ttft = System.nanoTime() - t0;
            }
            out[n++] = token;
            String piece = stops.push(utf8.push(tokenizer.decode(previous, token)));
            text.append(piece);
            if (listener != null) {
                listener.onToken(token, piece); // once per token, with empty text while a character or stop is pending
            }
            if (stops.stopped()) {
                reason = GenerationResult.StopReason.STOP_SEQUENCE;
                break;
            }
            previous = token;
            if (n == options.maxTokens()) {
                break;
            }
            if (session.position() >= session.capacity()) {
                reason = GenerationResult.StopReason.CONTEXT_FULL;
                break;
            }
            logits = feed(token);
            if (logits == null) {
                reason = GenerationResult.StopReason.CANCELLED;
                break;
            }
        }
        if (!stops.stopped()) {
            String tail = stops.push(utf8.flush());
            tail += stops.flush();
            text.append(tail);
            if (n > 0 && !tail.isEmpty() && listener != null) {
                listener.onToken(out[n - 1], tail);
            }
        }
        long decode = n > 1 ? System.nanoTime() - t1 : 0;
        info = new GenerationResult.Prefill(info.path(), ttft == 0 ? System.nanoTime() - t0 : ttft, info.deviceBusy(),
                info.failovers());
        return new GenerationResult(text.toString(), Arrays.copyOf(out, n), prompt.length, prefill, decode, reason,
                prefilled, info);
    }

    /** The last engine step of the prompt of {@link #run}: where its tasks ran and when; null before a run. */
    ForwardPass.Result lastPromptStep() {
        return promptRuns.isEmpty() ? null : promptRuns.getLast();
    }

    /** The path the prompt took and each device's busy share of it, over every engine step of the prompt. */
    private GenerationResult.Prefill prefillInfo(long prefillNanos) {
        List<ForwardPass.Result> runs = promptRuns;
        Map<String, Double> busy = new LinkedHashMap<>();
        double seconds = 0;
        int failovers = 0;
        String path = "float";
        for (ForwardPass.Result r : runs) {
            RunTrace t = r.trace();
            for (int d = 0; d < t.devices().size(); d++) {
                busy.merge(t.devices().get(d).name(), t.busySeconds(d), Double::sum);
            }
            seconds += t.seconds();
            failovers += r.failovers();
            path = r.path();          // the last step's: float when an NPU left mid-prompt
        }
        double wall = seconds;
        busy.replaceAll((d, b) -> wall > 0 ? b / wall : 0);
        busy.values().removeIf(share -> share == 0);
        return new GenerationResult.Prefill(path, prefillNanos, busy, failovers);
    }

    /**
     * The logits after {@code tokens}, one engine step per chunk; null when cancelled between chunks or
     * when the runtime closed during the step (close() cancels first, so the cancellation explains it).
     */
    private float[] feed(int... tokens) {
        try {
            return session.feed(tokens, cancel::isCancelled);
        } catch (IllegalStateException e) {
            if (cancel.isCancelled()) {
                return null;
            }
            throw e;
        }
    }
}
