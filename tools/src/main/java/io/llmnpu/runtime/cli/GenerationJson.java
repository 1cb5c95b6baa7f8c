package io.llmnpu.runtime.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.llmnpu.runtime.api.GenerationResult;
import io.llmnpu.runtime.api.TokenListener;
import java.util.stream.IntStream;

/**
 * {@code generate --json}: collects what a generation did and writes it as one JSON object for scripts
 * and tests: {@code prompt_ids}, {@code gen_ids}, {@code text}, {@code top_logits} (the highest
 * {@code [id, logit]} pairs after the prompt, highest first) and {@code timings} (named as llama.cpp's
 * server names them).
 */
final class GenerationJson implements TokenListener {
    private final int topLogits;
    private int[] promptIds = new int[0];
    private int[] topIds = new int[0];
    private float[] topValues = new float[0];

    GenerationJson(int topLogits) {
        this.topLogits = topLogits;
    }

    @Override
    public void onToken(int tokenId, String text) {
    }

    @Override
    public void onPrompt(int[] promptIds, float[] logits) {
        this.promptIds = promptIds.clone();
        topIds = IntStream.range(0, logits.length).boxed()
                .sorted((a, b) -> {
                    int byLogit = Float.compare(logits[b], logits[a]);
                    return byLogit != 0 ? byLogit : Integer.compare(a, b);
                })
                .limit(topLogits).mapToInt(Integer::intValue).toArray();
        topValues = new float[topIds.length];
        for (int i = 0; i < topIds.length; i++) {
            topValues[i] = logits[topIds[i]];
        }
    }

    String toJson(GenerationResult r) {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = mapper.createObjectNode();
        ArrayNode prompt = root.putArray("prompt_ids");
        IntStream.of(promptIds).forEach(prompt::add);
        ArrayNode generated = root.putArray("gen_ids");
        IntStream.of(r.tokens()).forEach(generated::add);
        root.put("text", r.text());
        ArrayNode top = root.putArray("top_logits");
        for (int i = 0; i < topIds.length; i++) {
            top.addArray().add(topIds[i]).add(topValues[i]);
        }
        ObjectNode timings = root.putObject("timings");
        timings.put("prompt_n", r.promptTokens());
        timings.put("prompt_ms", r.prefillNanos() / 1e6);
        timings.put("prompt_per_second", r.prefillTokensPerSecond());
        timings.put("predicted_n", r.tokens().length);
        timings.put("predicted_ms", r.decodeNanos() / 1e6);
        timings.put("predicted_per_second", r.decodeTokensPerSecond());
        try {
            return mapper.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write the generation as JSON", e);
        }
    }
}
