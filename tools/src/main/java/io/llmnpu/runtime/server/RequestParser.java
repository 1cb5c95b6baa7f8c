package io.llmnpu.runtime.server;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.llmnpu.runtime.chat.Message;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Turns the body of a completion or chat request into a {@link CompletionRequest}, or an
 * {@link ApiException} (400) that names the offending field. A pure function of the bytes and the
 * context length: no I/O, no state, so it can be fuzzed directly.
 *
 * <p>Fields of the OpenAI API that llmnpu does not act on (user, logit_bias, ...) are ignored, as
 * other OpenAI-compatible servers do; fields it cannot honour with a different meaning (n &gt; 1,
 * tools) are refused rather than silently ignored.
 */
public final class RequestParser {
    /** Strict JSON with bounded nesting, so hostile bodies fail fast with a 400. */
    private static final ObjectMapper JSON = JsonMapper.builder(JsonFactory.builder()
                    .streamReadConstraints(StreamReadConstraints.builder()
                            .maxNestingDepth(64).maxStringLength(16 << 20).maxNumberLength(100).build())
                    .build())
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant");
    private static final int MAX_STOPS = 4;

    private RequestParser() {
    }

    /** A {@code /v1/completions} body. */
    public static CompletionRequest parseCompletion(byte[] body, int contextLength) {
        JsonNode root = object(body);
        String prompt = promptText(root.get("prompt"));
        return new CompletionRequest(model(root), prompt, null, bool(root, "stream"), includeUsage(root),
                sampling(root, contextLength, "max_tokens"));
    }

    /** A {@code /v1/chat/completions} body. */
    public static CompletionRequest parseChat(byte[] body, int contextLength) {
        JsonNode root = object(body);
        JsonNode tools = root.get("tools");
        if (tools != null && !tools.isNull() && !(tools.isArray() && tools.isEmpty())) {
            throw ApiException.invalid("tools are not supported by this server", "tools");
        }
        List<Message> messages = messages(root.get("messages"));
        String maxField = root.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        return new CompletionRequest(model(root), null, messages, bool(root, "stream"), includeUsage(root),
                sampling(root, contextLength, maxField));
    }

    private static JsonNode object(byte[] body) {
        if (body == null || body.length == 0) {
            throw ApiException.invalid("The request body is empty; send a JSON object", null);
        }
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (JacksonException e) {
            throw ApiException.invalid("The request body is not valid JSON: " + e.getOriginalMessage(), null);
        } catch (IOException e) {
            throw ApiException.invalid("The request body could not be read: " + e.getMessage(), null);
        }
        if (root == null || !root.isObject()) {
            throw ApiException.invalid("The request body must be a JSON object", null);
        }
        return root;
    }

    private static String model(JsonNode root) {
        JsonNode m = root.get("model");
        if (m == null || m.isNull()) {
            return null;
        }
        if (!m.isTextual()) {
            throw ApiException.invalid("'model' must be a string", "model");
        }
        return m.asText();
    }

    private static String promptText(JsonNode p) {
        if (p == null || p.isNull()) {
            throw ApiException.invalid("'prompt' is required", "prompt");
        }
        if (p.isTextual()) {
            return p.asText();
        }
        if (p.isArray() && p.size() == 1 && p.get(0).isTextual()) {
            return p.get(0).asText();
        }
        throw ApiException.invalid("'prompt' must be a string (or an array holding one string)", "prompt");
    }

    private static List<Message> messages(JsonNode list) {
        if (list == null || list.isNull()) {
            throw ApiException.invalid("'messages' is required", "messages");
        }
        if (!list.isArray() || list.isEmpty()) {
            throw ApiException.invalid("'messages' must be a non-empty array", "messages");
        }
        List<Message> out = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
            JsonNode m = list.get(i);
            String where = "messages[" + i + "]";
            if (!m.isObject()) {
                throw ApiException.invalid("'" + where + "' must be an object", where);
            }
            JsonNode role = m.get("role");
            if (role == null || !role.isTextual()) {
                throw ApiException.invalid("'" + where + ".role' must be a string", where + ".role");
            }
            if (!ROLES.contains(role.asText())) {
                throw ApiException.invalid("'" + where + ".role' must be one of " + ROLES + ", got '" + role.asText()
                        + "'", where + ".role");
            }
            String r = role.asText().equals("developer") ? Message.SYSTEM : role.asText();
            out.add(new Message(r, content(m.get("content"), where + ".content")));
        }
        return out;
    }

    /** A string, or an array of content parts of which only text parts are accepted. */
    private static String content(JsonNode c, String where) {
        if (c == null || c.isNull()) {
            return "";
        }
        if (c.isTextual()) {
            return c.asText();
        }
        if (c.isArray()) {
            StringBuilder sb = new StringBuilder();
            for (JsonNode part : c) {
                JsonNode type = part.get("type");
                JsonNode text = part.get("text");
                if (!part.isObject() || type == null || !"text".equals(type.asText()) || text == null || !text.isTextual()) {
                    throw ApiException.invalid("'" + where + "' parts must be {\"type\": \"text\", \"text\": string};"
                            + " this model reads text only", where);
                }
                sb.append(text.asText());
            }
            return sb.toString();
        }
        throw ApiException.invalid("'" + where + "' must be a string or an array of text parts", where);
    }

    private static SamplingParams sampling(JsonNode root, int contextLength, String maxField) {
        JsonNode n = root.get("n");
        if (n != null && !n.isNull() && !(n.canConvertToExactIntegral() && n.asLong() == 1)) {
            throw ApiException.invalid("'n' must be 1: this server returns one choice per request", "n");
        }
        Float temperature = number(root, "temperature", 0, 2);
        Float topP = number(root, "top_p", 0, 1);
        if (topP != null && topP == 0) {
            throw ApiException.invalid("'top_p' must be greater than 0", "top_p");
        }
        Integer maxTokens = null;
        JsonNode mt = root.get(maxField);
        if (mt != null && !mt.isNull()) {
            if (!mt.isIntegralNumber()) {
                throw ApiException.invalid("'" + maxField + "' must be an integer", maxField);
            }
            if (!mt.canConvertToLong() || mt.asLong() < 1) {
                throw ApiException.invalid("'" + maxField + "' must be at least 1", maxField);
            }
            if (mt.asLong() > contextLength) {
                throw ApiException.contextExceeded("'" + maxField + "' is " + mt.asText()
                        + " but the model's context holds " + contextLength + " tokens", maxField);
            }
            maxTokens = mt.intValue();
        }
        Long seed = null;
        JsonNode s = root.get("seed");
        if (s != null && !s.isNull()) {
            if (!s.isIntegralNumber() || !s.canConvertToLong()) {
                throw ApiException.invalid("'seed' must be an integer", "seed");
            }
            seed = s.asLong();
        }
        Float presence = number(root, "presence_penalty", -2, 2);
        Float frequency = number(root, "frequency_penalty", -2, 2);
        return new SamplingParams(temperature, topP, maxTokens, stops(root.get("stop")), seed,
                presence == null ? 0 : presence, frequency == null ? 0 : frequency, bool(root, "ignore_eos"));
    }

    private static List<String> stops(JsonNode stop) {
        if (stop == null || stop.isNull()) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        if (stop.isTextual()) {
            out.add(stop.asText());
        } else if (stop.isArray()) {
            if (stop.size() > MAX_STOPS) {
                throw ApiException.invalid("'stop' may hold at most " + MAX_STOPS + " sequences", "stop");
            }
            for (JsonNode s : stop) {
                if (!s.isTextual()) {
                    throw ApiException.invalid("'stop' must be a string or an array of strings", "stop");
                }
                out.add(s.asText());
            }
        } else {
            throw ApiException.invalid("'stop' must be a string or an array of strings", "stop");
        }
        if (out.stream().anyMatch(String::isEmpty)) {
            throw ApiException.invalid("'stop' sequences must not be empty", "stop");
        }
        return List.copyOf(out);
    }

    private static Float number(JsonNode root, String field, double min, double max) {
        JsonNode v = root.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isNumber()) {
            throw ApiException.invalid("'" + field + "' must be a number", field);
        }
        double d = v.asDouble();
        if (!(d >= min && d <= max)) {
            throw ApiException.invalid("'" + field + "' must be between " + fmt(min) + " and " + fmt(max) + ", got "
                    + v.asText(), field);
        }
        return (float) d;
    }

    private static boolean bool(JsonNode root, String field) {
        JsonNode v = root.get(field);
        if (v == null || v.isNull()) {
            return false;
        }
        if (!v.isBoolean()) {
            throw ApiException.invalid("'" + field + "' must be a boolean", field);
        }
        return v.asBoolean();
    }

    private static boolean includeUsage(JsonNode root) {
        JsonNode options = root.get("stream_options");
        if (options == null || options.isNull()) {
            return false;
        }
        if (!options.isObject()) {
            throw ApiException.invalid("'stream_options' must be an object", "stream_options");
        }
        return bool(options, "include_usage");
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }
}
