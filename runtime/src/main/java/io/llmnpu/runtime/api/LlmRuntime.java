package io.llmnpu.runtime.api;

import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.runtime.engine.BackendRegistry;
import io.llmnpu.runtime.engine.ChunkPlanner;
import io.llmnpu.runtime.engine.DevicePlan;
import io.llmnpu.runtime.engine.ForwardPass;
import io.llmnpu.runtime.engine.InferenceSession;
import io.llmnpu.runtime.model.LoadedModel;
import io.llmnpu.runtime.model.ModelLoader;
import io.llmnpu.runtime.sampling.Sampler;
import io.llmnpu.runtime.sampling.Samplers;
import io.llmnpu.runtime.tokenizer.Tokenizer;
import io.llmnpu.runtime.tokenizer.Utf8StreamDecoder;
import java.util.Arrays;
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
 * A runtime is thread-safe. Every generation and every open {@linkplain #openSession() session} owns
 * its own KV cache (its slot); the engine steps of all slots (one prefill chunk, one decode step) run
 * one at a time under one lock, so generations and sessions on different threads interleave step by
 * step, never see each other's state, and give exactly the tokens they give alone. {@link #close()}
 * may be called from any thread: it cancels running generations (they return with
 * {@link GenerationResult.StopReason#CANCELLED} and the tokens made so far), waits for the step in
 * flight, then frees every KV cache, the compiled graphs and the model, and stops the backends'
 * threads; open sessions then fail with an {@link IllegalStateException}, as do later calls.
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
    /** Generations running now, so that close() can stop them. */
    private final Set<Generation> running = ConcurrentHashMap.newKeySet();
    /** Sessions not yet closed (generations' own included), so that close() can free their caches. */
    private final Set<InferenceSession> sessions = ConcurrentHashMap.newKeySet();
    private final Object closeLock = new Object();
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
        Tokenizer tokenizer = model.tokenizer();
        int[] tokens = tokenizer.encode(prompt, tokenizer.addBosByDefault() || prompt.isEmpty());
        if (tokens.length == 0) {
            throw new IllegalArgumentException("the prompt is empty and the vocabulary has no BOS token to start from");
        }
        if (tokens.length >= contextLength) {
            int modelContext = model.config().contextLength();
            throw new IllegalArgumentException("the prompt has " + tokens.length + " tokens but the context holds "
                    + contextLength + "; shorten it" + (contextLength < modelContext
                            ? " or raise the context length (this model allows up to " + modelContext + ")"
                            : " (" + contextLength + " tokens is all this model allows)"));
        }
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
        Tokenizer tokenizer = model.tokenizer();
        int[] prompt = promptTokens(request.prompt());
        Sampler sampler = Samplers.create(request.sampler());
        for (int t : prompt) {
            sampler.accept(t);
        }
        Generation generation = new Generation(cancel);
        running.add(generation); // before the check, so that close() either sees it or is seen
        try (InferenceSession session = openSession()) {
            return new GenerationLoop(session, tokenizer, sampler, request, listener, generation).run(prompt);
        } finally {
            running.remove(generation);
        }
    }

    /**
     * A session on this runtime's model for callers that drive tokens themselves (logits, scoring),
     * with its own KV cache. One thread uses a session at a time; sessions and generations on other
     * threads go on beside it (see the class comment). Close it to free its cache.
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
            running.forEach(Generation::stop);
            forwardPass.close(); // waits for the step in flight; no step runs after this
            List.copyOf(sessions).forEach(InferenceSession::close);
            devices.close();
            model.close();
        }
    }

    /** One running generation: stopped by its caller's token or by close(). */
    private static final class Generation {
        private final CancellationToken caller;
        private volatile boolean stopped;

        Generation(CancellationToken caller) {
            this.caller = caller;
        }

        void stop() {
            stopped = true;
        }

        boolean isCancelled() {
            return stopped || (caller != null && caller.isCancelled());
        }
    }

    /** The token-by-token loop of one generation. */
    private record GenerationLoop(InferenceSession session, Tokenizer tokenizer, Sampler sampler,
                                  GenerationRequest request, TokenListener listener, Generation generation) {

        GenerationResult run(int[] prompt) {
            long t0 = System.nanoTime();
            float[] logits = feed(prompt);
            long prefill = System.nanoTime() - t0;
            long t1 = System.nanoTime();
            Utf8StreamDecoder utf8 = new Utf8StreamDecoder();
            StringBuilder text = new StringBuilder();
            // Bounded by the context as well: each token but the last takes a position.
            int[] out = new int[Math.min(request.maxTokens(), session.capacity() - session.position() + 1)];
            int n = 0;
            int previous = prompt[prompt.length - 1];
            GenerationResult.StopReason reason = GenerationResult.StopReason.LENGTH;
            while (n < request.maxTokens()) {
                if (generation.isCancelled()) {
                    reason = GenerationResult.StopReason.CANCELLED;
                    break;
                }
                int token = sampler.sample(logits);
                if (request.stopAtEos() && (token == tokenizer.eos() || token == tokenizer.bos())) {
                    reason = GenerationResult.StopReason.END_OF_SEQUENCE;
                    break;
                }
                sampler.accept(token);
                out[n++] = token;
                String piece = utf8.push(tokenizer.decode(previous, token));
                text.append(piece);
                if (listener != null) {
                    listener.onToken(token, piece);
                }
                previous = token;
                if (n == request.maxTokens()) {
                    break;
                }
                if (session.position() >= session.capacity()) {
                    reason = GenerationResult.StopReason.CONTEXT_FULL;
                    break;
                }
                logits = feed(token);
            }
            String tail = utf8.flush();
            text.append(tail);
            if (!tail.isEmpty() && listener != null && n > 0) {
                listener.onToken(out[n - 1], tail);
            }
            long decode = n > 1 ? System.nanoTime() - t1 : 0;
            return new GenerationResult(text.toString(), Arrays.copyOf(out, n), prompt.length, prefill, decode, reason);
        }

        /** The logits after {@code tokens}, or null when close() ended the runtime during the step. */
        private float[] feed(int... tokens) {
            try {
                return session.feed(tokens);
            } catch (IllegalStateException e) {
                if (generation.stopped) {
                    return null; // the loop sees the cancellation next
                }
                throw e;
            }
        }
    }
}
