package io.llmnpu.runtime.chat;

import java.util.List;

/** Turns a conversation into the prompt text a model was trained on. */
public interface ChatTemplate {

    /**
     * The prompt for {@code messages}, ending with the opening of the assistant's turn when
     * {@code addGenerationPrompt} is set.
     *
     * @throws ChatTemplateException if the template cannot render this conversation
     */
    String render(List<Message> messages, boolean addGenerationPrompt);

    /** Texts that end the assistant's turn in this format (besides the end-of-sequence token). */
    List<String> stopSequences();

    /** A short name for logs and errors, e.g. {@code gguf jinja} or {@code plain}. */
    String name();
}
