package io.llmnpu.runtime.api;

import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.runtime.chat.Message;
import io.llmnpu.runtime.engine.CostBook;
import io.llmnpu.runtime.engine.ModelFingerprint;
import io.llmnpu.runtime.graph.Architectures;
import io.llmnpu.runtime.quant.CalibrationData;
import io.llmnpu.runtime.quant.CalibrationFile;
import io.llmnpu.runtime.quant.CalibrationStore;
import io.llmnpu.runtime.quant.Int8WeightStore;
import io.llmnpu.runtime.quant.NpuRewrite;
import io.llmnpu.runtime.quant.QuantConfig;
import io.llmnpu.runtime.quant.QuantMode;
import io.llmnpu.scheduler.Policies;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Optional;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.runtime.chat.ChatTemplate;
import io.llmnpu.runtime.chat.ChatTemplateException;
import io.llmnpu.runtime.chat.ChatTemplates;
import io.llmnpu.runtime.engine.BackendRegistry;
import io.llmnpu.runtime.engine.ChunkPlanner;
import io.llmnpu.runtime.engine.DevicePlan;
import io.llmnpu.runtime.engine.ForwardPass;
import io.llmnpu.runtime.engine.InferenceSession;
import io.llmnpu.runtime.model.load.LoadedModel;
import io.llmnpu.runtime.model.load.ModelLoader;
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
 * chunk, one decode step) run one at a time under the engine's one lock ({@link DevicePlan#engineLock()}), taken fairly, so
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
 * <p>The model runs on the devices of the registry's backends through one engine ({@link ForwardPass}):
 * each op where the devices' affinities say it runs best. Prompts run as static chunks; when a device of
 * kind NPU is present and the model is calibrated (see {@link RuntimeOptions#npu()}), their linear layers
 * run in INT8 on the NPU with the outlier shadows on a float device at the same time, and the other ops
 * on float devices, out of order. Decode steps run in float and read the KV cache the prompt wrote. If a
 * device fails or its backend is unplugged in the middle of a generation, the work in flight moves to the
 * remaining devices and the generation goes on. With a live registry (backend bundles, see
 * {@code io.llmnpu.runtime.osgi.BackendHost}) a backend plugged in while the runtime serves is used from
 * the next step on (an NPU from the next prompt).
 */
public final class LlmRuntime implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LlmRuntime.class);

    private final LoadedModel model;
    private final DevicePlan devices;
    private final ForwardPass forwardPass;
    private final Int8WeightStore int8;
    private final int contextLength;
    /** Generations running now (their tokens), so that close() can cancel them. */
    private final Set<CancellationToken> running = ConcurrentHashMap.newKeySet();
    /** Sessions not yet closed (generations' and conversations' own included), so that close() can free their caches. */
    private final Set<InferenceSession> sessions = ConcurrentHashMap.newKeySet();
    private final Set<Conversation> conversations = ConcurrentHashMap.newKeySet();
    private final Object closeLock = new Object();
    private volatile ChatTemplate chatTemplate;
    private volatile ForwardPass.Result lastPrefill;
    private volatile boolean closed;

    private LlmRuntime(LoadedModel model, DevicePlan devices, ForwardPass forwardPass, Int8WeightStore int8,
                       int contextLength) {
        this.model = model;
        this.devices = devices;
        this.forwardPass = forwardPass;
        this.int8 = int8;
        this.contextLength = contextLength;
    }

    /** Loads the model, starts the backend and compiles the decode graph. */
    public static LlmRuntime open(RuntimeOptions options) {
        return open(options, BackendRegistry.discover(LlmRuntime.class.getClassLoader()));
    }

    /** As {@link #open(RuntimeOptions)}, running on the backends of {@code registry}. */
    public static LlmRuntime open(RuntimeOptions options, BackendRegistry registry) {
        registry.select(options.backend()); // fails fast, before the model loads, if nothing can run
        if (options.policy() != null) {
            Policies.byName(options.policy());
        }
        LoadedModel model = ModelLoader.load(options.model(), options.tokenizer()); // the header only, so far
        DevicePlan devices = null;
        Int8WeightStore int8 = new Int8WeightStore();
        try {
            int modelContext = model.config().contextLength();
            if (options.contextLength() > modelContext) {
                throw new IllegalArgumentException("a context of " + options.contextLength() + " tokens is more than "
                        + model.source().getFileName() + " was made for (" + modelContext + "); use at most "
                        + modelContext + ", or 0 for the model's own");
            }
            int ctx = options.contextLength() == 0 ? modelContext : options.contextLength();
            ModelLoader.warmPageCache(model, options.progress());
            BackendOptions backendOptions = new BackendOptions(options.threads());
            devices = DevicePlan.open(registry, new DevicePlan.Config(options.backend(), backendOptions, null,
                    ForwardPass.workload(model.config(), model.weights(), ctx),
                    CostBook.forModel(ModelFingerprint.of(options.model())),
                    options.npuBackend() == null ? Set.of() : Set.of(options.npuBackend())));
            ForwardPass.NpuPath npu = npuPath(options, model, devices, int8);
            ForwardPass fp = new ForwardPass(model.config(), Architectures.graphs(model.config(), model.weights()),
                    devices, new ChunkPlanner(options.chunkSize()), ctx, npu,
                    options.policy() == null ? null : Policies.byName(options.policy()));
            options.progress().progress("compiling graphs", 0, 1);
            fp.prepare(1);
            options.progress().progress("compiling graphs", 1, 1);
            log.info("{}: {} ({} threads), context {}; devices {}; decode on {}; prompts {}",
                    model.source().getFileName(), model.description(), backendOptions.effectiveThreads(), ctx,
                    devices.devices(), fp.decodeDevice(), npu == null ? "in float" : "on the NPU path "
                            + npu.rewrite().name() + " when an NPU is present");
            return new LlmRuntime(model, devices, fp, int8, ctx);
        } catch (RuntimeException | Error e) {
            if (devices != null) {
                devices.close();
            }
            int8.close();
            model.close();
            throw e;
        }
    }

    /**
     * The NPU path prompts may take, or null for float only: needs a calibration of the model; with
     * {@code --npu NAME} its absence (or the backend's) is an error, with auto one INFO line says why prompts
     * run in float.
     */
    private static ForwardPass.NpuPath npuPath(RuntimeOptions options, LoadedModel model, DevicePlan devices,
                                              Int8WeightStore int8) {
        if (!options.npuAllowed()) {
            return null;
        }
        String named = options.npuBackend();
        Path modelFile = options.model();
        if (named != null && devices.devices().stream().noneMatch(d -> d.toLowerCase(java.util.Locale.ROOT)
                .startsWith(named.toLowerCase(java.util.Locale.ROOT) + "/"))) {
            throw new IllegalStateException("no NPU backend named '" + named + "' is available; devices: " + devices.devices());
        }
        Optional<Path> found = options.calibration() != null ? Optional.of(options.calibration())
                : CalibrationStore.find(modelFile);
        if (found.isEmpty() || !java.nio.file.Files.isRegularFile(found.get())) {
            String why = (options.calibration() != null ? "no calibration file at " + options.calibration()
                    : "no calibration for " + modelFile.getFileName()) + "; run: llmnpu calibrate " + modelFile
                    + " --text TEXT_FILE";
            if (named != null) {
                throw new IllegalStateException("--npu " + named + " needs a calibration: " + why);
            }
            log.info("prompts run in float: {}", why);
            return null;
        }
        CalibrationData calibration;
        try {
            calibration = CalibrationFile.read(found.get());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the calibration " + found.get() + ": " + e.getMessage(), e);
        }
        QuantConfig config = QuantConfig.npuPath(QuantMode.fromKey(options.npuMode() == null ? "shadow" : options.npuMode()));
        NpuRewrite rewrite;
        try {
            rewrite = new NpuRewrite(model.config(), model.weights(), calibration, config, int8);
        } catch (IllegalArgumentException e) {
            if (named != null) {
                throw new IllegalStateException("--npu " + named + ": " + found.get() + ": " + e.getMessage(), e);
            }
            log.info("prompts run in float: {}: {}", found.get(), e.getMessage());
            return null;
        }
        if (named == null && !devices.hasDeviceOfKind(DeviceKind.NPU)) {
            log.info("no NPU device: prompts run in float (an NPU plugged in later is used from the next prompt)");
        }
        return new ForwardPass.NpuPath(rewrite, named);
    }

    public LoadedModel model() {
        return model;
    }

    public Tokenizer tokenizer() {
        return model.tokenizer();
    }

    /** The device that runs decode steps now (most of each), e.g. {@code cpu/cpu0}. */
    public String deviceName() {
        return forwardPass.decodeDevice();
    }

    /** Every device the model may run on, in rank order, e.g. {@code [npu-ref/npu0, cpu/cpu0]}. */
    public List<String> devices() {
        return devices.devices();
    }

    /** The NPU path prompts take when an NPU is present (e.g. {@code w8a8-shadow}), or null when they run in float. */
    public String npuPath() {
        return forwardPass.npuPath();
    }

    /** How the prompt of the last generation ran (its last engine step): where each task ran and when, or null. */
    public ForwardPass.Result lastPrefill() {
        return lastPrefill;
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
            GenerationLoop loop = new GenerationLoop(session, model.tokenizer(), options, listener, token);
            GenerationResult result = loop.run(prompt);
            lastPrefill = loop.lastPromptStep();
            return result;
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
            int8.close();
            model.close();
        }
    }
}
