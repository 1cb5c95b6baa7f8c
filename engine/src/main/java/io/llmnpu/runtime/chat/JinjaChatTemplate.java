package io.llmnpu.runtime.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A chat template written in Jinja, as GGUF files carry it in {@code tokenizer.chat_template}
 * (Hugging Face's format), rendered by the Jinjava engine with the variables such templates expect:
 * {@code messages} (maps with {@code role} and {@code content}), {@code add_generation_prompt},
 * {@code bos_token}, {@code eos_token}, and the function {@code raise_exception(message)}.
 *
 * <p>Templates come from model files, so they are untrusted: output size, recursion and ranges are
 * bounded, and anything the engine reports as an error (a syntax error, an unknown filter or function,
 * a {@code raise_exception}) fails the rendering with a {@link ChatTemplateException} that quotes the
 * engine's message and line, rather than producing a silently wrong prompt.
 */
public final class JinjaChatTemplate implements ChatTemplate {
    private static final long MAX_OUTPUT_CHARS = 4L << 20;
    /** An expression or statement tag, and a filter application inside one (quoted strings aside). */
    private static final Pattern TAG = Pattern.compile("\\{[{%].*?[%}]\\}", Pattern.DOTALL);
    private static final Pattern FILTER = Pattern.compile("'(?:[^'\\\\]|\\\\.)*'|\"(?:[^\"\\\\]|\\\\.)*\"|\\|\\s*([A-Za-z_][A-Za-z0-9_]*)");

    private final String source;
    private final String bosToken;
    private final String eosToken;
    private final List<String> stops;
    private final Jinjava jinjava;

    /**
     * @param source   the template text
     * @param bosToken text of the model's BOS token (empty if none)
     * @param eosToken text of the model's EOS token (empty if none)
     */
    public JinjaChatTemplate(String source, String bosToken, String eosToken) {
        if (source == null || source.isBlank()) {
            throw new ChatTemplateException("the chat template is empty");
        }
        this.source = source;
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
        this.stops = this.eosToken.isEmpty() ? List.of() : List.of(this.eosToken);
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withMaxOutputSize(MAX_OUTPUT_CHARS)
                .withMaxRenderDepth(10)
                .withMaxMacroRecursionDepth(20)
                .withRangeLimit(100_000)
                .withMaxListSize(100_000)
                .withMaxStringLength(MAX_OUTPUT_CHARS)
                .build();
        this.jinjava = new Jinjava(config);
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                JinjaChatTemplate.class, "raiseException", String.class));
        // The engine renders an unknown filter as nothing, without an error: refuse such templates up front.
        checkFilters();
        // Rendering a one-message conversation reports syntax errors when the template loads, not at the first chat.
        checkSyntax();
    }

    /** Called by templates as {@code raise_exception('...')}: they use it to refuse a conversation. */
    public static Object raiseException(String message) {
        throw new TemplateRaised(message);
    }

    @Override
    public String render(List<Message> messages, boolean addGenerationPrompt) {
        Map<String, Object> context = new HashMap<>();
        List<Map<String, Object>> list = new ArrayList<>(messages.size());
        for (Message m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            list.add(map);
        }
        context.put("messages", list);
        context.put("add_generation_prompt", addGenerationPrompt);
        context.put("bos_token", bosToken);
        context.put("eos_token", eosToken);
        RenderResult result;
        try {
            result = jinjava.renderForResult(source, context);
        } catch (TemplateRaised raised) {
            throw new ChatTemplateException("the model's chat template refused the conversation: " + raised.getMessage());
        } catch (RuntimeException e) {
            throw new ChatTemplateException("the model's chat template cannot be rendered: " + e.getMessage(), e);
        }
        List<TemplateError> errors = result.getErrors().stream()
                .filter(e -> e.getSeverity() == TemplateError.ErrorType.FATAL || isUnsupported(e))
                .toList();
        if (!errors.isEmpty()) {
            String raised = raisedMessage(errors);
            if (raised != null) {
                throw new ChatTemplateException("the model's chat template refused the conversation: " + raised);
            }
            throw new ChatTemplateException("the model's chat template cannot be rendered by the Jinja engine ("
                    + errors.stream().map(JinjaChatTemplate::describe).collect(Collectors.joining("; "))
                    + "). Use a template that the engine supports, or run without one (--chat-template plain).");
        }
        return result.getOutput();
    }

    @Override
    public List<String> stopSequences() {
        return stops;
    }

    @Override
    public String name() {
        return "jinja";
    }

    public String source() {
        return source;
    }

    private void checkFilters() {
        Matcher tag = TAG.matcher(source);
        while (tag.find()) {
            Matcher filter = FILTER.matcher(tag.group());
            while (filter.find()) {
                String name = filter.group(1);
                if (name != null && jinjava.getGlobalContext().getFilter(name) == null) {
                    throw new ChatTemplateException("the model's chat template uses the filter '" + name
                            + "', which the Jinja engine does not know. Use a template without it, or run without"
                            + " one (--chat-template plain).");
                }
            }
        }
    }

    private void checkSyntax() {
        render(List.of(Message.user("hello")), true);
    }

    /** Errors that mean the engine did not understand part of the template (so the output is not trustworthy). */
    private static boolean isUnsupported(TemplateError e) {
        return switch (e.getReason()) {
            case UNKNOWN, SYNTAX_ERROR, EXCEPTION, DISABLED, INVALID_ARGUMENT, INVALID_INPUT, OUTPUT_TOO_BIG,
                 OVER_LIMIT, COLLECTION_TOO_BIG -> true;
            default -> false;
        };
    }

    private static String raisedMessage(List<TemplateError> errors) {
        for (TemplateError e : errors) {
            for (Throwable t = e.getException(); t != null; t = t.getCause()) {
                if (t instanceof TemplateRaised r) {
                    return r.getMessage();
                }
            }
        }
        return null;
    }

    private static String describe(TemplateError e) {
        String where = e.getLineno() > 0 ? "line " + e.getLineno() + ": " : "";
        return where + e.getMessage();
    }

    /** What {@code raise_exception} throws through the engine. */
    private static final class TemplateRaised extends RuntimeException {
        TemplateRaised(String message) {
            super(message, null, false, false);
        }
    }
}
