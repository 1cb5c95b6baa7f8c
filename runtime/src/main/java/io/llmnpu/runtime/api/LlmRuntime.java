package io.llmnpu.runtime.api;

import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.runtime.chat.ChatTemplate;
import io.llmnpu.runtime.chat.ChatTemplateException;
import io.llmnpu.runtime.chat.ChatTemplates;
import io.llmnpu.runtime.engine.BackendRegistry;
import io.llmnpu.runtime.engine.ChunkPlanner;
import io.llmnpu.runtime.engine.DevicePlan;
import io.llmnpu.runtime.engine.ForwardPass;
import io.llmnpu.runtime.engine.InferenceSession;
import io.llmnpu.runtime.model.LoadedModel;
import io.llmnpu.runtime.model.ModelLoader;
import io.llmnpu.runtime.tokenizer.Tokenizer;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedding API: a loaded model on a backend, ready to generate.
 *
 * <pre>{@code
 * try (LlmRuntime llm = LlmRuntime.open(RuntimeOptions.of(Path.of("model.gguf")))) {
 *     llm.generate(GenerationRequest.greedy("Once upon a time", 64),
 *             (id, text) -> System.out.print(text), new CancellationToken());
 * }
 * }</pre>
 *
 * <h2>Threads</h2>
 * A runtime is thread-safe. Every generation, every open {@linkplain #openSession() session} and every
 * {@link Conversation} owns its own KV cache (its slot); the engine steps of all slots (one prefill
 * chunk, one decode step) run one at a time under the forward pass's step lock, taken fairly, so
 * generations, sessions and conversations on different threads interleave step by step, never see
 * each other's state, and give exactly the tokens they give alone. {@link #close()} may be called
 * from any thread: it cancels running generations (they return with
 * {@link GenerationResult.StopReason#CANCELLED} and the tokens made so far), waits for the step in
 * flight, then frees every KV cache, the compiled graphs and the model, and stops the backends'
 * threads; open sessions and conversations then fail with an {@link IllegalStateException}, as do
 * later calls.
 *
 * <p>Chat: {@link #chat} answers a conversation in a fresh slot; {@link #openConversation()} keeps
 * the slot between turns so each turn prefills only its new tokens. Prompts are built by the model's
 * chat template (the Jinja template in its GGUF file, or {@link io.llmnpu.runtime.chat.PlainChatFormat}).
 *
 * <p>The model runs on the usable devices of the registry's backends, best first (the backend named
 * in the options, then by estimated time, CPU last; see {@link DevicePlan}): if a device fails or its backend is unplugged
 * in the middle of a generation, the step in flight re-runs on the next device and the generation
 * goes on with the same tokens. With a live registry (backend bundles, see
 * {@code io.llmnpu.runtime.osgi.BackendHost}) a backend plugged in while the runtime serves is used
 * from the next step on.
 */
public final class LlmRuntime implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LlmRuntime.class);

    private final LoadedModel model;
    private final DevicePlan devices;
    private final ForwardPass forwardPass;
    private final int contextLength;
    /** Generations running now (their tokens), so that close() can cancel them. */
    private final Set<CancellationToken> running = ConcurrentHashMap.newKeySet();
    /** Sessions not yet closed (generations' and conversations' own included), so that close() can free their caches. */
    private final Set<InferenceSession> sessions = ConcurrentHashMap.newKeySet();
    private final Set<Conversation> conversations = ConcurrentHashMap.newKeySet();
    private final Object closeLock = new Object();
    private volatile ChatTemplate chatTemplate;
    private volatile boolean closed;

    private LlmRuntime(LoadedModel model, DevicePlan devices, ForwardPass forwardPass, int contextLength) {
        this.model = model;
        this.devices = devices;
        this.forwardPass = forwardPass;
        this.contextLength = contextLength;
    }

    /** Loads the model, starts the backend and compiles the decode graph. */
    public static LlmRuntime open(RuntimeOptions options) {
        return open(options, BackendRegistry.discover(LlmRuntime.class.getClassLoader()));
    }

    /** As {@link #open(RuntimeOptions)}, running on the backends of {@code registry}. */
    public static LlmRuntime open(RuntimeOptions options, BackendRegistry registry) {
        registry.select(options.backend()); // fails fast, before the model loads, if nothing can run
        LoadedModel model = ModelLoader.load(options.model(), options.tokenizer()); // the header only, so far
        DevicePlan devices = null;
        try {
            int modelContext = model.config().contextLength();
            if (options.contextLength() > modelContext) {
                throw new IllegalArgumentException("a context of " + options.contextLength() + " tokens is more than "
                        + model.source().getFileName() + " was made for (" + modelContext + "); use at most "
                        + modelContext + ", or 0 for the model's own");
            }
            int ctx = options.contextLength() == 0 ? modelContext : options.contextLength();
            ModelLoader.pageIn(model, options.progress());
            BackendOptions backendOptions = new BackendOptions(options.threads());
            devices = DevicePlan.open(registry, options.backend(), backendOptions,
                    ForwardPass.workload(model.config(), model.weights(), options.chunkSize(), ctx));
            String on = devices.currentDevice();
            options.progress().progress("compiling graphs on " + on, 0, 1);
            ForwardPass fp = new ForwardPass(model.config(), model.weights(), devices,
                    new ChunkPlanner(options.chunkSize()), ctx);
            fp.prepare(1);
            options.progress().progress("compiling graphs on " + on, 1, 1);
            log.info("{}: {} on {} ({} threads), context {}; devices in fallback order: {}",
                    model.source().getFileName(), model.description(), on, backendOptions.effectiveThreads(), ctx,
                    devices.devices());
            return new LlmRuntime(model, devices, fp, ctx);
        } catch (RuntimeException | Error e) {
            if (devices != null) {
                devices.close();
            }
            model.close();
            throw e;
        }
    }

    public LoadedModel model() {
        return model;
    }

    public Tokenizer tokenizer() {
        return model.tokenizer();
    }

    /** Name of the backend and device the model runs on now, e.g. {@code cpu/cpu0}. */
    public String deviceName() {
        return devices.currentDevice();
    }

    /** Every device the model may run on, in fallback order, e.g. {@code [npu/npu0, cpu/cpu0]}. */
    public List<String> devices() {
        return devices.devices();
    }

    /** Positions one generation may hold. */
    public int contextLength() {
        return contextLength;
    }

    /**
     * The tokens a generation of {@code prompt} starts from (BOS first where the model wants it).
     *
     * @throws IllegalArgumentException if the prompt cannot be generated from: it leaves no room in
     *                                  the context, or it is empty and the vocabulary has no BOS
     */
    public int[] promptTokens(String prompt) {
        int[] tokens = encodePrompt(prompt);
        checkPromptFits(tokens.length);
        return tokens;
    }

    /**
     * Generates text after {@code request.prompt()}, reporting each token to {@code listener} as it
     * comes. Blocks until done, cancelled (through {@code cancel} or by {@link #close()}), or the
     * context is full. May run on several threads at once (see the class comment).
     *
     * @throws IllegalStateException if the runtime is closed
     */
    public GenerationResult generate(GenerationRequest request, TokenListener listener, CancellationToken cancel) {
        int[] prompt = promptTokens(request.prompt());
        GenerationOptions options = new GenerationOptions(request.maxTokens(), request.sampler(), request.stopAtEos(),
                List.of(), 0, 0);
        CancellationToken token = cancellation(cancel);
        try (InferenceSession session = openSession()) {
            return new GenerationLoop(session, model.tokenizer(), options, listener, token).run(prompt);
        } finally {
            finished(token);
        }
    }

    /**
     * Answers the last message of {@code messages} in a fresh KV slot, with the prompt built by the chat
     * template. To keep the cache between turns, use {@link #openConversation()}.
     *
     * @throws ChatTemplateException if the template cannot render the conversation
     */
    public GenerationResult chat(List<Message> messages, GenerationOptions options, TokenListener listener,
                                 CancellationToken cancel) {
        try (Conversation c = openConversation()) {
            return c.chat(messages, options, listener, cancel);
        }
    }

    /** A KV slot that keeps what it has computed between requests (see {@link Conversation}). */
    public Conversation openConversation() {
        Conversation c = new Conversation(this, openSession());
        conversations.add(c);
        if (closed) {
            c.close();
            throw new IllegalStateException("the runtime is closed");
        }
        return c;
    }

    /**
     * The template chat prompts are built with: the Jinja template in the model's file, or the plain
     * format when it has none.
     *
     * @throws ChatTemplateException if the file's template cannot be parsed
     */
    public ChatTemplate chatTemplate() {
        ChatTemplate t = chatTemplate;
        if (t == null) {
            t = ChatTemplates.forModel(model);
            chatTemplate = t;
        }
        return t;
    }

    /** Builds chat prompts with {@code template} instead of the model's own from now on. */
    public void useChatTemplate(ChatTemplate template) {
        chatTemplate = java.util.Objects.requireNonNull(template, "template");
    }

    /** The token ids of the chat prompt for {@code messages}, ending with the opening of the assistant's turn. */
    public int[] chatPrompt(List<Message> messages) {
        if (messages.isEmpty()) {
            throw new IllegalArgumentException("a chat needs at least one message");
        }
        String text = chatTemplate().render(messages, true);
        Tokenizer tokenizer = model.tokenizer();
        boolean bos = tokenizer.bos() >= 0 && tokenizer.addBosByDefault();
        String bosText = tokenizer.bos() >= 0 ? tokenizer.piece(tokenizer.bos()) : "";
        if (!bosText.isEmpty() && text.startsWith(bosText)) {
            // The template wrote BOS as text; it stands for the token, not for its spelling.
            text = text.substring(bosText.length());
            bos = true;
        }
        // The template writes the model's control tokens (<|im_start|>, <start_of_turn>, ...) as text.
        int[] ids = tokenizer.encode(text, bos, true);
        if (ids.length == 0) {
            throw new ChatTemplateException("the chat template rendered an empty prompt");
        }
        return ids;
    }

    /** The token ids of a plain prompt: BOS first where the model expects it (or where the prompt is empty). */
    public int[] encodePrompt(String prompt) {
        Tokenizer tokenizer = model.tokenizer();
        int[] ids = tokenizer.encode(prompt, tokenizer.addBosByDefault() || prompt.isEmpty());
        if (ids.length == 0) {
            throw new IllegalArgumentException("the prompt is empty and the vocabulary has no BOS token to start from");
        }
        return ids;
    }

    /** Fails with a clear message when a prompt of {@code tokens} leaves no room to generate. */
    public void checkPromptFits(int tokens) {
        if (tokens == 0) {
            throw new IllegalArgumentException("the prompt is empty");
        }
        if (tokens >= contextLength) {
            int modelContext = model.config().contextLength();
            throw new IllegalArgumentException("the prompt has " + tokens + " tokens but the context holds "
                    + contextLength + "; shorten it" + (contextLength < modelContext
                            ? " or raise the context length (this model allows up to " + modelContext + ")"
                            : " (" + contextLength + " tokens is all this model allows)"));
        }
    }

    /** Registers a generation's token so that {@link #close()} can cancel it. */
    CancellationToken cancellation(CancellationToken cancel) {
        CancellationToken token = cancel == null ? new CancellationToken() : cancel;
        running.add(token);
        if (closed) {
            token.cancel();
        }
        return token;
    }

    void finished(CancellationToken cancel) {
        running.remove(cancel);
    }

    void release(Conversation conversation) {
        conversations.remove(conversation);
    }

    /**
     * A session on this runtime's model for callers that drive tokens themselves (logits, scoring),
     * with its own KV cache. One thread uses a session at a time; its engine steps take turns with
     * those of every other session, conversation and generation of this runtime (see the class
     * comment). Close it to free its cache.
     *
     * @throws IllegalStateException if the runtime is closed
     */
    public InferenceSession openSession() {
        requireOpen();
        InferenceSession session = new InferenceSession(forwardPass, contextLength, sessions::remove);
        sessions.add(session); // before the check, as in generate()
        if (closed) {
            session.close();
            requireOpen();
        }
        return session;
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("the runtime is closed");
        }
    }

    /**
     * Cancels running generations, waits for the engine step in flight, then frees every session's KV
     * cache, the graphs, the backends and the model. Does not wait for generations to return to their
     * callers (they do right after their current step). Safe to call more than once, from any thread.
     */
    @Override
    public void close() {
        synchronized (closeLock) {
            if (closed) {
                return;
            }
            closed = true;
            running.forEach(CancellationToken::cancel);
            forwardPass.close(); // waits for the step in flight; no step runs after this
            List.copyOf(conversations).forEach(Conversation::freeSlot);
            List.copyOf(sessions).forEach(InferenceSession::close);
            devices.close();
            model.close();
        }
    }
}
