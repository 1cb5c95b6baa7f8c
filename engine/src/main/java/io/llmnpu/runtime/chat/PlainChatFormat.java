package io.llmnpu.runtime.chat;

import java.util.List;

/**
 * The prompt format for models whose file carries no chat template (e.g. stories260K): the system
 * message as a paragraph of its own, then one line per turn labelled with the speaker.
 *
 * <pre>
 * You are a storyteller.            (system content, then a blank line)
 *
 * User: Tell me about a cat.
 * Assistant: Once upon a time...
 * User: And then?
 * Assistant:                         (the generation prompt: no trailing space)
 * </pre>
 *
 * Roles other than system, user and assistant are labelled with their name capitalised. The
 * assistant's turn ends at a newline followed by {@code User:}, so that is a stop sequence. Each
 * rendering of a conversation is a prefix of the rendering of its continuation, which lets a
 * follow-up turn reuse the cached prompt.
 */
public final class PlainChatFormat implements ChatTemplate {

    @Override
    public String render(List<Message> messages, boolean addGenerationPrompt) {
        StringBuilder sb = new StringBuilder();
        for (Message m : messages) {
            if (m.role().equals(Message.SYSTEM)) {
                sb.append(m.content().strip()).append("\n\n");
            } else {
                sb.append(label(m.role())).append(": ").append(m.content().strip()).append('\n');
            }
        }
        if (addGenerationPrompt) {
            sb.append(label(Message.ASSISTANT)).append(':');
        }
        return sb.toString();
    }

    @Override
    public List<String> stopSequences() {
        return List.of("\nUser:");
    }

    @Override
    public String name() {
        return "plain";
    }

    private static String label(String role) {
        return Character.toUpperCase(role.charAt(0)) + role.substring(1);
    }
}
