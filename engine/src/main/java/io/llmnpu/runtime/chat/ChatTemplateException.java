package io.llmnpu.runtime.chat;

/** A chat template that cannot be parsed, or cannot render a given conversation. */
public final class ChatTemplateException extends IllegalArgumentException {

    public ChatTemplateException(String message) {
        super(message);
    }

    public ChatTemplateException(String message, Throwable cause) {
        super(message, cause);
    }
}
