package io.llmnpu.runtime.server;

import io.llmnpu.runtime.api.CancellationToken;
import io.llmnpu.runtime.api.GenerationOptions;
import io.llmnpu.runtime.api.GenerationResult;
import io.llmnpu.runtime.api.LlmRuntime;
import io.llmnpu.runtime.chat.ChatTemplateException;
import io.llmnpu.runtime.sampling.SamplerConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Answers one validated completion or chat request: builds the prompt, checks it against the
 * context, waits for a slot, generates, and sends the answer whole or as a stream. The client's
 * disconnection (noticed by the watch or by a failed write) cancels the generation.
 */
final class CompletionHandler {
    private final LlmRuntime llm;
    private final SlotManager slots;
    private final ServerMetrics metrics;
    private final ServerConfig config;
    private final String modelId;

    CompletionHandler(LlmRuntime llm, SlotManager slots, ServerMetrics metrics, ServerConfig config, String modelId) {
        this.llm = llm;
        this.slots = slots;
        this.metrics = metrics;
        this.config = config;
        this.modelId = modelId;
    }

    /**
     * Handles {@code request}; returns the HTTP status sent (499 when the client went away).
     *
     * @throws ApiException for errors found before anything was sent
     */
    int handle(CompletionRequest request, Exchange exchange, DisconnectWatcher.Watch watch, CancellationToken cancel,
               long arrivalNanos) throws InterruptedException {
        if (request.model() != null && !request.model().equals(modelId)) {
            throw ApiException.modelNotFound(request.model());
        }
        int[] prompt = prompt(request);
        GenerationOptions options = options(request, prompt.length);
        try (SlotManager.Lease lease = slots.acquire(prompt, watch::gone)) {
            ResponseJson json = new ResponseJson((request.isChat() ? "chatcmpl-" : "cmpl-")
                    + UUID.randomUUID().toString().replace("-", ""), System.currentTimeMillis() / 1000, modelId,
                    request.isChat());
            return request.stream()
                    ? stream(request, lease, prompt, options, json, exchange, watch, cancel, arrivalNanos)
                    : whole(lease, prompt, options, json, exchange, watch, cancel, arrivalNanos);
        } catch (SlotManager.ClientGone gone) {
            return 499;
        }
    }

    private int whole(SlotManager.Lease lease, int[] prompt, GenerationOptions options, ResponseJson json,
                      Exchange exchange, DisconnectWatcher.Watch watch, CancellationToken cancel, long arrival) {
        boolean[] first = {true};
        GenerationResult r = lease.conversation().generate(prompt, options, (id, text) -> {
            if (first[0]) {
                first[0] = false;
                metrics.firstToken(System.nanoTime() - arrival);
            }
        }, cancel);
        metrics.generated(r);
        if (watch.gone()) {
            return 499;
        }
        exchange.json(200, json.complete(r, r.text()));
        return 200;
    }

    private int stream(CompletionRequest request, SlotManager.Lease lease, int[] prompt, GenerationOptions options,
                       ResponseJson json, Exchange exchange, DisconnectWatcher.Watch watch, CancellationToken cancel,
                       long arrival) {
        SseWriter sse = new SseWriter(exchange.openEventStream(), watch::markGone);
        boolean[] first = {true};
        if (request.isChat()) {
            sse.event(json.chunk("", true)); // the role comes first, as OpenAI sends it
            first[0] = false;
        }
        long[] firstTokenAt = {0};
        GenerationResult r = lease.conversation().generate(prompt, options, (id, text) -> {
            if (firstTokenAt[0] == 0) {
                firstTokenAt[0] = System.nanoTime();
                metrics.firstToken(firstTokenAt[0] - arrival);
            }
            if (!text.isEmpty()) {
                sse.event(json.chunk(text, first[0]));
                first[0] = false;
            }
        }, cancel);
        metrics.generated(r);
        if (sse.failed() || watch.gone()) {
            return 499;
        }
        sse.event(json.finalChunk(ResponseJson.finishReason(r)));
        if (request.includeUsage()) {
            sse.event(json.usageChunk(r));
        }
        sse.done();
        return sse.failed() ? 499 : 200;
    }

    private int[] prompt(CompletionRequest request) {
        int[] ids;
        try {
            ids = request.isChat() ? llm.chatPrompt(request.messages()) : llm.encodePrompt(request.prompt());
        } catch (ChatTemplateException e) {
            throw ApiException.invalid(e.getMessage(), "messages");
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid(e.getMessage(), request.isChat() ? "messages" : "prompt");
        }
        int ctx = llm.contextLength();
        if (ids.length >= ctx) {
            throw ApiException.contextExceeded("This model's maximum context length is " + ctx + " tokens, but the"
                    + " prompt has " + ids.length + " tokens. Shorten the prompt.", request.isChat() ? "messages" : "prompt");
        }
        return ids;
    }

    private GenerationOptions options(CompletionRequest request, int promptTokens) {
        SamplingParams p = request.sampling();
        int ctx = llm.contextLength();
        int room = ctx - promptTokens;
        int maxTokens;
        if (p.maxTokens() != null) {
            if (promptTokens + p.maxTokens() > ctx) {
                throw ApiException.contextExceeded("This model's maximum context length is " + ctx + " tokens; the"
                        + " prompt has " + promptTokens + " and " + p.maxTokens() + " more were requested. Lower"
                        + " max_tokens or shorten the prompt.", "max_tokens");
            }
            maxTokens = p.maxTokens();
        } else {
            maxTokens = Math.min(config.defaultMaxTokens(), room);
        }
        float temperature = p.temperature() == null ? 1f : p.temperature();
        float topP = p.topP() == null ? 1f : p.topP();
        long seed = p.seed() == null ? System.nanoTime() : p.seed();
        SamplerConfig sampler = SamplerConfig.standard(temperature, 0, topP, 0f, seed);
        List<String> stops = new ArrayList<>(p.stop());
        GenerationOptions options = new GenerationOptions(maxTokens, sampler, !p.ignoreEos(), stops, p.presencePenalty(),
                p.frequencyPenalty());
        return request.isChat() ? options.withMoreStops(llm.chatTemplate().stopSequences()) : options;
    }
}
