package io.llmnpu.runtime.chat;

import io.llmnpu.runtime.model.load.LoadedModel;
import io.llmnpu.runtime.tokenizer.Tokenizer;

/** Picks the chat template of a model: the Jinja template its GGUF file carries, or the plain format. */
public final class ChatTemplates {
    /** GGUF metadata key of the Jinja chat template. */
    public static final String GGUF_KEY = "tokenizer.chat_template";

    private ChatTemplates() {
    }

    /** The model's own template, or {@link PlainChatFormat} when its file has none. */
    public static ChatTemplate forModel(LoadedModel model) {
        Object source = model.metadata().get(GGUF_KEY);
        if (source instanceof String s && !s.isBlank()) {
            Tokenizer tok = model.tokenizer();
            return new JinjaChatTemplate(s, tokenText(tok, tok.bos()), tokenText(tok, tok.eos()));
        }
        return new PlainChatFormat();
    }

    /** {@code plain}, or a Jinja template given as text (e.g. read from a file by the command line). */
    public static ChatTemplate named(String nameOrSource, LoadedModel model) {
        if (nameOrSource.equals("plain")) {
            return new PlainChatFormat();
        }
        Tokenizer tok = model.tokenizer();
        return new JinjaChatTemplate(nameOrSource, tokenText(tok, tok.bos()), tokenText(tok, tok.eos()));
    }

    private static String tokenText(Tokenizer tokenizer, int id) {
        return id < 0 ? "" : tokenizer.piece(id);
    }
}
