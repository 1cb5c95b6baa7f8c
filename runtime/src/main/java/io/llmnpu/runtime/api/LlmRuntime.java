package io.llmnpu.runtime.api;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.api.backend.Device;
import io.llmnpu.runtime.engine.BackendRegistry;
import io.llmnpu.runtime.engine.ChunkPlanner;
import io.llmnpu.runtime.engine.ForwardPass;
import io.llmnpu.runtime.engine.InferenceSession;
import io.llmnpu.runtime.model.LoadedModel;
import io.llmnpu.runtime.model.ModelLoader;
import io.llmnpu.runtime.sampling.Sampler;
import io.llmnpu.runtime.sampling.Samplers;
import io.llmnpu.runtime.tokenizer.Tokenizer;
import io.llmnpu.runtime.tokenizer.Utf8StreamDecoder;
import java.util.Arrays;
import java.util.concurrent.locks.ReentrantLock;
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
 * Generations on one runtime run one after another (they share compiled graphs); closing the
 * runtime unmaps the model and stops the backend's threads.
 */
public final class LlmRuntime implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LlmRuntime.class);

    private final LoadedModel model;
    private final Backend backend;
    private final Device device;
    private final ForwardPass forwardPass;
    private final int contextLength;
    private final ReentrantLock lock = new ReentrantLock();
    private volatile boolean closed;

    private LlmRuntime(LoadedModel model, Backend backend, Device device, ForwardPass forwardPass, int contextLength) {
        this.model = model;
        this.backend = backend;
        this.device = device;
        this.forwardPass = forwardPass;
        this.contextLength = contextLength;
    }

    /** Loads the model, starts the backend and compiles the decode graph. */
    public static LlmRuntime open(RuntimeOptions options) {
        return open(options, BackendRegistry.discover(LlmRuntime.class.getClassLoader()));
    }

    /** As {@link #open(RuntimeOptions)}, choosing among the given backends. */
    public static LlmRuntime open(RuntimeOptions options, BackendRegistry registry) {
        BackendProvider provider = registry.select(options.backend());
        LoadedModel model = ModelLoader.load(options.model(), options.tokenizer());
        Backend backend = null;
        try {
            ModelLoader.pageIn(model, options.progress());
            int ctx = options.contextLength() == 0
                    ? model.config().contextLength()
                    : Math.min(options.contextLength(), model.config().contextLength());
            backend = provider.create(new BackendOptions(options.threads()));
            Device device = backend.devices().getFirst();
            options.progress().progress("compiling graphs on " + backend.name() + "/" + device.name(), 0, 1);
            ForwardPass fp = new ForwardPass(model.config(), model.weights(), device,
                    new ChunkPlanner(options.chunkSize()), ctx);
            fp.prepare(1);
            options.progress().progress("compiling graphs on " + backend.name() + "/" + device.name(), 1, 1);
            log.info("{}: {} on {}/{} ({} threads), context {}", model.source().getFileName(),
                    model.description(), backend.name(), device.name(),
                    new BackendOptions(options.threads()).effectiveThreads(), ctx);
            return new LlmRuntime(model, backend, device, fp, ctx);
        } catch (RuntimeException | Error e) {
            if (backend != null) {
                backend.close();
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

    /** Name of the backend and device the model runs on, e.g. {@code cpu/cpu0}. */
    public String deviceName() {
        return backend.name() + "/" + device.name();
    }

    /** Positions one generation may hold. */
    public int contextLength() {
        return contextLength;
    }

    /**
     * Generates text after {@code request.prompt()}, reporting each token to {@code listener} as it
     * comes. Blocks until done, cancelled, or the context is full.
     */
    public GenerationResult generate(GenerationRequest request, TokenListener listener, CancellationToken cancel) {
        Tokenizer tokenizer = model.tokenizer();
        int[] prompt = tokenizer.encode(request.prompt(), tokenizer.addBosByDefault() || request.prompt().isEmpty());
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt is empty and the vocabulary has no BOS token to start from");
        }
        if (prompt.length >= contextLength) {
            throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens but the context holds "
                    + contextLength + "; shorten it or raise the context length");
        }
        Sampler sampler = Samplers.create(request.sampler());
        for (int t : prompt) {
            sampler.accept(t);
        }
        lock.lock();
        try (InferenceSession session = openSession()) {
            return new GenerationLoop(session, tokenizer, sampler, request, listener, cancel).run(prompt);
        } finally {
            lock.unlock();
        }
    }

    /**
     * A session on this runtime's model for callers that drive tokens themselves (logits, scoring).
     * While a session is open, it holds the runtime: close it before the next generation.
     */
    public InferenceSession openSession() {
        if (closed) {
            throw new IllegalStateException("the runtime is closed");
        }
        return new InferenceSession(forwardPass, contextLength);
    }

    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            forwardPass.close();
            backend.close();
            model.close();
        } finally {
            lock.unlock();
        }
    }

    /** The token-by-token loop of one generation. */
    private record GenerationLoop(InferenceSession session, Tokenizer tokenizer, Sampler sampler,
                                  GenerationRequest request, TokenListener listener, CancellationToken cancel) {

        GenerationResult run(int[] prompt) {
            long t0 = System.nanoTime();
            float[] logits = session.feed(prompt);
            long prefill = System.nanoTime() - t0;
            long t1 = System.nanoTime();
            Utf8StreamDecoder utf8 = new Utf8StreamDecoder();
            StringBuilder text = new StringBuilder();
            int[] out = new int[Math.max(0, request.maxTokens())];
            int n = 0;
            int previous = prompt[prompt.length - 1];
            GenerationResult.StopReason reason = GenerationResult.StopReason.LENGTH;
            while (n < request.maxTokens()) {
                if (cancel != null && cancel.isCancelled()) {
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
                logits = session.feed(token);
            }
            String tail = utf8.flush();
            text.append(tail);
            if (!tail.isEmpty() && listener != null && n > 0) {
                listener.onToken(out[n - 1], tail);
            }
            long decode = n > 1 ? System.nanoTime() - t1 : 0;
            return new GenerationResult(text.toString(), Arrays.copyOf(out, n), prompt.length, prefill, decode, reason);
        }
    }
}
