package io.llmnpu.runtime.server;

import io.llmnpu.runtime.chat.Message;
import java.util.List;

/**
 * A validated request to {@code /v1/completions} ({@code prompt} set) or {@code /v1/chat/completions}
 * ({@code messages} set).
 *
 * @param model        the model the client named
 * @param prompt       text to continue, for completions; null for chat
 * @param messages     the conversation so far, for chat; null for completions
 * @param stream       answer as server-sent events
 * @param includeUsage with {@code stream}: send a last chunk with token counts ({@code stream_options.include_usage})
 * @param sampling     how to generate
 */
public record CompletionRequest(String model, String prompt, List<Message> messages, boolean stream,
                                boolean includeUsage, SamplingParams sampling) {

    public boolean isChat() {
        return messages != null;
    }
}
