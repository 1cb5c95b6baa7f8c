package io.llmnpu.runtime.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.llmnpu.runtime.api.GenerationResult;

/** The JSON bodies of the OpenAI API, as its servers send them. */
final class ResponseJson {
    static final ObjectMapper JSON = new ObjectMapper();

    private final String id;
    private final long created;
    private final String model;
    private final boolean chat;

    ResponseJson(String id, long created, String model, boolean chat) {
        this.id = id;
        this.created = created;
        this.model = model;
        this.chat = chat;
    }

    /** A streamed piece of text (chat: a delta, with the role in the first one). */
    ObjectNode chunk(String text, boolean first) {
        ObjectNode root = head(chat ? "chat.completion.chunk" : "text_completion");
        ObjectNode choice = root.putArray("choices").addObject();
        choice.put("index", 0);
        if (chat) {
            ObjectNode delta = choice.putObject("delta");
            if (first) {
                delta.put("role", "assistant");
            }
            delta.put("content", text);
        } else {
            choice.put("text", text);
        }
        choice.putNull("logprobs");
        choice.putNull("finish_reason");
        return root;
    }

    /** The last streamed piece: no text, the finish reason. */
    ObjectNode finalChunk(String finishReason) {
        ObjectNode root = head(chat ? "chat.completion.chunk" : "text_completion");
        ObjectNode choice = root.putArray("choices").addObject();
        choice.put("index", 0);
        if (chat) {
            choice.putObject("delta");
        } else {
            choice.put("text", "");
        }
        choice.putNull("logprobs");
        choice.put("finish_reason", finishReason);
        return root;
    }

    /** The chunk with token counts that {@code stream_options.include_usage} asks for: no choices. */
    ObjectNode usageChunk(GenerationResult r) {
        ObjectNode root = head(chat ? "chat.completion.chunk" : "text_completion");
        root.putArray("choices");
        root.set("usage", usage(r));
        return root;
    }

    /** A whole (non-streamed) answer. */
    ObjectNode complete(GenerationResult r, String text) {
        ObjectNode root = head(chat ? "chat.completion" : "text_completion");
        ArrayNode choices = root.putArray("choices");
        ObjectNode choice = choices.addObject();
        choice.put("index", 0);
        if (chat) {
            ObjectNode message = choice.putObject("message");
            message.put("role", "assistant");
            message.put("content", text);
        } else {
            choice.put("text", text);
        }
        choice.putNull("logprobs");
        choice.put("finish_reason", finishReason(r));
        root.set("usage", usage(r));
        return root;
    }

    static String finishReason(GenerationResult r) {
        return switch (r.stopReason()) {
            case END_OF_SEQUENCE, STOP_SEQUENCE, CANCELLED -> "stop";
            case LENGTH, CONTEXT_FULL -> "length";
        };
    }

    static ObjectNode usage(GenerationResult r) {
        ObjectNode usage = JSON.createObjectNode();
        usage.put("prompt_tokens", r.promptTokens());
        usage.put("completion_tokens", r.tokens().length);
        usage.put("total_tokens", r.promptTokens() + r.tokens().length);
        usage.putObject("prompt_tokens_details").put("cached_tokens", r.cachedTokens());
        return usage;
    }

    /** {@code {"error": {...}}} for an {@link ApiException}. */
    static ObjectNode error(ApiException e) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode error = root.putObject("error");
        error.put("message", e.getMessage());
        error.put("type", e.type());
        error.put("param", e.param());
        error.put("code", e.code());
        return root;
    }

    private ObjectNode head(String object) {
        ObjectNode root = JSON.createObjectNode();
        root.put("id", id);
        root.put("object", object);
        root.put("created", created);
        root.put("model", model);
        root.put("system_fingerprint", "llmnpu");
        return root;
    }
}
