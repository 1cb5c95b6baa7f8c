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
 * runtime unmaps the model and stops the backends' threads.
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
    private final ReentrantLock lock = new ReentrantLock();
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
        LoadedModel model = ModelLoader.load(options.model(), options.tokenizer(), options.progress());
        DevicePlan devices = null;
        try {
            int ctx = options.contextLength() == 0
                    ? model.config().contextLength()
                    : Math.min(options.contextLength(), model.config().contextLength());
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
            devices.close();
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
            if (listener != null) {
                listener.onPrompt(prompt, logits);
            }
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
