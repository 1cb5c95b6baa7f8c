package io.llmnpu.runtime.api;

import io.llmnpu.runtime.chat.ChatTemplate;
import io.llmnpu.runtime.chat.Message;
import io.llmnpu.runtime.engine.InferenceSession;
import java.util.Arrays;
import java.util.List;

/**
 * A sequence with its own KV slot that remembers which tokens its cache holds, so that the next
 * request on it prefills only what is new: a follow-up chat turn re-sends the whole conversation, and
 * only the tokens after the longest prefix it shares with the cache run through prefill.
 *
 * <pre>{@code
 * try (Conversation chat = llm.openConversation()) {
 *     List<Message> messages = new ArrayList<>(List.of(Message.user("Hello")));
 *     GenerationResult r = chat.chat(messages, GenerationOptions.greedy(64), listener, cancel);
 *     messages.add(Message.assistant(r.text()));
 *     messages.add(Message.user("And then?"));
 *     chat.chat(messages, GenerationOptions.greedy(64), listener, cancel);  // prefills the new turn only
 * }
 * }</pre>
 *
 * One request at a time per conversation (calls are serialised); conversations on other threads run
 * at the same time, interleaved step by step by the runtime.
 */
public final class Conversation implements AutoCloseable {
    private final LlmRuntime runtime;
    private final InferenceSession session;
    private int[] held = new int[0];

    Conversation(LlmRuntime runtime, InferenceSession session) {
        this.runtime = runtime;
        this.session = session;
    }

    /**
     * Answers the last message of {@code messages} (the whole conversation so far), with the
     * prompt built by the runtime's chat template.
     *
     * @throws io.llmnpu.runtime.chat.ChatTemplateException if the template cannot render the conversation
     * @throws IllegalArgumentException if the prompt does not fit the context
     */
    public GenerationResult chat(List<Message> messages, GenerationOptions options, TokenListener listener,
                                 CancellationToken cancel) {
        ChatTemplate template = runtime.chatTemplate();
        int[] prompt = runtime.chatPrompt(messages);
        return generate(prompt, options.withMoreStops(template.stopSequences()), listener, cancel);
    }

    /** Continues {@code prompt} (plain text, BOS added as the model expects), reusing the cached prefix. */
    public GenerationResult complete(String prompt, GenerationOptions options, TokenListener listener,
                                     CancellationToken cancel) {
        return generate(runtime.encodePrompt(prompt), options, listener, cancel);
    }

    /** Continues the token ids {@code prompt}, reusing the longest prefix the cache already holds. */
    public synchronized GenerationResult generate(int[] prompt, GenerationOptions options, TokenListener listener,
                                                  CancellationToken cancel) {
        runtime.checkPromptFits(prompt.length);
        int keep = Math.min(sharedPrefix(prompt), prompt.length - 1); // the last token runs again for its logits
        session.rewind(keep);
        held = Arrays.copyOf(held, keep);
        GenerationResult result;
        CancellationToken token = runtime.cancellation(cancel);
        try {
            result = new GenerationLoop(session, runtime.tokenizer(), options, listener, token).run(prompt);
        } catch (RuntimeException | Error e) {
            held = new int[0]; // the cache may be half written: trust none of it
            session.rewind(0);
            throw e;
        } finally {
            runtime.finished(token);
        }
        int[] sequence = Arrays.copyOf(prompt, prompt.length + result.tokens().length);
        System.arraycopy(result.tokens(), 0, sequence, prompt.length, result.tokens().length);
        held = Arrays.copyOf(sequence, session.position());
        return result;
    }

    /** How many leading tokens of {@code prompt} the cache holds already. */
    public synchronized int sharedPrefix(int[] prompt) {
        int n = Math.min(prompt.length, held.length);
        int i = 0;
        while (i < n && prompt[i] == held[i]) {
            i++;
        }
        return i;
    }

    /** Tokens the cache holds now. */
    public synchronized int heldTokens() {
        return held.length;
    }

    /** Forgets everything the cache holds. */
    public synchronized void reset() {
        held = new int[0];
        session.rewind(0);
    }

    /** Positions this conversation can hold. */
    public int capacity() {
        return session.capacity();
    }

    /** Frees the KV slot. */
    @Override
    public synchronized void close() {
        runtime.release(this);
        freeSlot();
    }

    /** Frees the cache; the runtime calls this when it closes, with no engine step in flight. */
    void freeSlot() {
        session.close();
    }
}
