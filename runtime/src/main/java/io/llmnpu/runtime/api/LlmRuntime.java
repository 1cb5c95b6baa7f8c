package io.llmnpu.runtime.api;

import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.runtime.engine.BackendRegistry;
import io.llmnpu.runtime.engine.ChunkPlanner;
import io.llmnpu.runtime.engine.CostBook;
import io.llmnpu.runtime.engine.DevicePlan;
import io.llmnpu.runtime.engine.ForwardPass;
import io.llmnpu.runtime.engine.GraphSource;
import io.llmnpu.runtime.engine.InferenceSession;
import io.llmnpu.runtime.engine.ModelFingerprint;
import io.llmnpu.runtime.model.LoadedModel;
import io.llmnpu.runtime.model.ModelLoader;
import io.llmnpu.runtime.quant.CalibrationData;
import io.llmnpu.runtime.quant.CalibrationFile;
import io.llmnpu.runtime.quant.CalibrationStore;
import io.llmnpu.runtime.quant.Int8WeightStore;
import io.llmnpu.runtime.quant.NpuRewrite;
import io.llmnpu.runtime.quant.QuantConfig;
import io.llmnpu.runtime.quant.QuantMode;
import io.llmnpu.runtime.sampling.Sampler;
import io.llmnpu.runtime.sampling.Samplers;
import io.llmnpu.runtime.tokenizer.Tokenizer;
import io.llmnpu.runtime.tokenizer.Utf8StreamDecoder;
import io.llmnpu.scheduler.Policies;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
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
    private final ReentrantLock lock = new ReentrantLock();
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
        LoadedModel model = ModelLoader.load(options.model(), options.tokenizer(), options.progress());
        DevicePlan devices = null;
        Int8WeightStore int8 = new Int8WeightStore();
        try {
            int ctx = options.contextLength() == 0
                    ? model.config().contextLength()
                    : Math.min(options.contextLength(), model.config().contextLength());
            BackendOptions backendOptions = new BackendOptions(options.threads());
            devices = DevicePlan.open(registry, new DevicePlan.Config(options.backend(), backendOptions, null,
                    ForwardPass.workload(model.config(), model.weights(), ctx),
                    CostBook.forModel(ModelFingerprint.of(options.model()))));
            ForwardPass.NpuPath npu = npuPath(options, model, devices, int8);
            ForwardPass fp = new ForwardPass(model.config(), GraphSource.of(model.config(), model.weights()), devices,
                    new ChunkPlanner(options.chunkSize()), ctx, npu,
                    options.policy() == null ? null : Policies.byName(options.policy()));
            options.progress().progress("compiling graphs", 0, 1);
            fp.prepare(1);
            options.progress().progress("compiling graphs", 1, 1);
            log.info("{}: {} ({} threads), context {}; devices {}; decode on {}; prompts {}",
                    model.source().getFileName(), model.description(), backendOptions.effectiveThreads(), ctx,
                    devices.devices(), fp.decodeDevice(), npu == null ? "in float" : "on the NPU path " + npu.rewrite().name()
                            + " when an NPU is present");
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

    /** How the prompt of the last generation ran: where each task ran and when (for Gantt charts), or null. */
    public ForwardPass.Result lastPrefill() {
        return lastPrefill;
    }

    /** The NPU path prompts take when an NPU is present (e.g. {@code w8a8-shadow}), or null when they run in float. */
    public String npuPath() {
        return forwardPass.npuPath();
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
        long started = System.nanoTime();
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
            GenerationLoop loop = new GenerationLoop(session, tokenizer, sampler, request, listener, cancel, started);
            GenerationResult result = loop.run(prompt);
            lastPrefill = loop.prefillRun();
            return result;
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
            int8.close();
            model.close();
        } finally {
            lock.unlock();
        }
    }

    /** The token-by-token loop of one generation. */
    private static final class GenerationLoop {
        private final InferenceSession session;
        private final Tokenizer tokenizer;
        private final Sampler sampler;
        private final GenerationRequest request;
        private final TokenListener listener;
        private final CancellationToken cancel;
        private final long started;
        private ForwardPass.Result prefillRun;

        GenerationLoop(InferenceSession session, Tokenizer tokenizer, Sampler sampler, GenerationRequest request,
                       TokenListener listener, CancellationToken cancel, long started) {
            this.session = session;
            this.tokenizer = tokenizer;
            this.sampler = sampler;
            this.request = request;
            this.listener = listener;
            this.cancel = cancel;
            this.started = started;
        }

        ForwardPass.Result prefillRun() {
            return prefillRun;
        }

        GenerationResult run(int[] prompt) {
            long t0 = System.nanoTime();
            float[] logits = session.feed(prompt);
            long prefill = System.nanoTime() - t0;
            prefillRun = session.lastRun();
            long ttft = 0;
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
                if (n == 0) {
                    ttft = System.nanoTime() - started;
                }
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
            GenerationResult.Prefill info = new GenerationResult.Prefill(prefillRun.path(),
                    ttft == 0 ? System.nanoTime() - started : ttft, prefillRun.trace().busyShares(), prefillRun.failovers());
            return new GenerationResult(text.toString(), Arrays.copyOf(out, n), prompt.length, prefill, decode, reason, info);
        }
    }
}
