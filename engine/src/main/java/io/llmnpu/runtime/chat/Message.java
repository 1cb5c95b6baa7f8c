package io.llmnpu.runtime.chat;

import java.util.Objects;

/**
 * One message of a conversation.
 *
 * @param role    who speaks: {@code system}, {@code user} or {@code assistant} (templates may know others)
 * @param content what was said
 */
public record Message(String role, String content) {

    public static final String SYSTEM = "system";
    public static final String USER = "user";
    public static final String ASSISTANT = "assistant";

    public Message {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
        if (role.isBlank()) {
            throw new IllegalArgumentException("a message needs a role (system, user or assistant)");
        }
    }

    public static Message system(String content) {
        return new Message(SYSTEM, content);
    }

    public static Message user(String content) {
        return new Message(USER, content);
    }

    public static Message assistant(String content) {
        return new Message(ASSISTANT, content);
    }
}
