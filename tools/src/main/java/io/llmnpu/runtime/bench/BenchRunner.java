package io.llmnpu.runtime.bench;

import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.tensor.ResidentMemory;
import io.llmnpu.runtime.api.LlmRuntime;
import io.llmnpu.runtime.model.ProgressListener;
import io.llmnpu.runtime.api.RuntimeOptions;
import io.llmnpu.runtime.engine.BackendRegistry;
import io.llmnpu.runtime.engine.DevicePlan;
import io.llmnpu.runtime.engine.ForwardPass;
import io.llmnpu.runtime.engine.InferenceSession;
import io.llmnpu.runtime.measure.Calibrator;
import io.llmnpu.runtime.quant.CalibrationData;
import io.llmnpu.runtime.quant.CalibrationFile;
import io.llmnpu.runtime.quant.CalibrationStore;
import java.io.UncheckedIOException;
import io.llmnpu.runtime.model.load.LoadedModel;
import io.llmnpu.runtime.model.load.ModelLoader;
import java.io.IOException;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Runs a {@link BenchPlan} in the manner of llama-bench. Prompts are random token ids (text and
 * tokenizer play no part). A prefill test ({@code ppN}) times feeding N tokens into a fresh session,
 * so it covers chunk planning, every chunk's graph and the LM head on the last row; a decode test
 * ({@code tgN}) times N single-token feeds into a fresh session. Sessions are opened outside the
 * timed region. Unless warm-up is off, each test first runs untimed, repeatedly for at least
 * {@link #WARMUP_NANOS} and until the JIT has compiled nothing for a second (a prefill test its whole
 * prompt, a decode test a few tokens per session): the
 * JIT compiles the kernels only after they have run many times, and a small model's tokens take tens
 * of microseconds, so a single warm-up run would time the interpreter.
 * With an NPU backend in the plan, every prefill test also runs on the NPU path (INT8 linears on the NPU, the
 * rest on the float devices) and gets a row of its own.
 */
public final class BenchRunner {
    private static final int DECODE_WARMUP_TOKENS = 4;
    /** Untimed warm-up per test: at least one run, repeated until this much time has passed. */
    static final long WARMUP_NANOS = 2_000_000_000L;
    /** ... and then until the JIT has compiled nothing for this long ... */
    static final long SETTLE_NANOS = 1_000_000_000L;
    /** ... but no longer than this. */
    static final long MAX_WARMUP_NANOS = 30_000_000_000L;
    private final BenchPlan plan;
    private final BackendRegistry registry;
    private final Consumer<String> log;

    /** @param log receives one line per step (configuration, warm-up, each timed run) */
    public BenchRunner(BenchPlan plan, BackendRegistry registry, Consumer<String> log) {
        this.plan = plan;
        this.registry = registry;
        this.log = log;
    }

    public BenchReport run() {
        Instant started = Instant.now();
        Map<Integer, Double> bandwidth = new LinkedHashMap<>();
        if (plan.genTokens() > 0) {
            // Before any model is mapped, so the probe's buffer is gone before memory peaks are taken.
            for (int threads : plan.threads()) {
                int t = effectiveThreads(threads);
                if (!bandwidth.containsKey(t)) {
                    double bytesPerSecond = MemoryBandwidth.bytesPerSecond(t);
                    bandwidth.put(t, bytesPerSecond);
                    log.accept(String.format(Locale.ROOT, "memory read bandwidth with %d thread%s: %.1f GB/s", t,
                            t == 1 ? "" : "s", bytesPerSecond / 1e9));
                }
            }
        }
        List<BenchResult> results = new ArrayList<>();
        Map<String, PeakMemory> memory = new LinkedHashMap<>();
        int configs = plan.models().size() * plan.backends().size() * plan.threads().size() * plan.chunks().size();
        int config = 0;
        for (Path model : plan.models()) {
            boolean rssReset = PeakMemory.reset();
            PeakMemory.Resident atEnd = null;
            for (String backend : plan.backends()) {
                for (int threads : plan.threads()) {
                    for (int c = 0; c < plan.chunks().size(); c++) {
                        config++;
                        int chunk = plan.chunks().get(c);
                        atEnd = runConfiguration(model, backend, threads, chunk, c == 0, config, configs, results);
                    }
                }
            }
            memory.put(model.toString(), PeakMemory.read(rssReset, atEnd));
        }
        return new BenchReport(started, plan, results, memory, machine(), bandwidth);
    }

    /** Runs the tests of one configuration; returns the resident set after them, before the model closes. */
    private PeakMemory.Resident runConfiguration(Path model, String backend, int threads, int chunk, boolean runDecode,
                                                 int config, int configs, List<BenchResult> results) {
        int modelContext;
        try (LoadedModel header = ModelLoader.load(model, null)) { // maps the file, reads the header only
            modelContext = header.config().contextLength();
        }
        if (modelContext < plan.contextNeeded()) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "%s holds %d positions, but the tests need %d; use smaller -p/-n", model.getFileName(),
                    modelContext, plan.contextNeeded()));
        }
        RuntimeOptions options = RuntimeOptions.of(model).withBackend(backend.isEmpty() ? null : backend)
                .withThreads(threads).withChunkSize(chunk).withContextLength(plan.contextNeeded())
                .withNpu(RuntimeOptions.NPU_OFF);
        if (plan.npu() != null && !plan.promptSizes().isEmpty()) {
            runNpuPrefill(model, options, threads, chunk, config, configs, results);
        }
        try (LlmRuntime llm = LlmRuntime.open(options, registry)) {
            BenchModel info = BenchModel.of(llm.model());
            int effectiveThreads = effectiveThreads(threads);
            String where = String.format(Locale.ROOT, "[%d/%d] %s %s %s t=%d", config, configs, info.name(), info.type(),
                    llm.deviceName(), effectiveThreads);
            for (int p : plan.promptSizes()) {
                int[] prompt = randomTokens(p, info.config().vocabSize(), plan.seed() + p);
                long[] samples = measure(where + " c=" + chunk + " pp" + p, () -> prefill(llm, prompt), () -> prefill(llm, prompt));
                results.add(new BenchResult(info, llm.deviceName(), effectiveThreads, chunk, p, 0, samples,
                        ModelFlops.prefill(info.config(), p)));
            }
            if (runDecode && plan.genTokens() > 0) {
                int[] tokens = randomTokens(plan.genTokens(), info.config().vocabSize(), plan.seed() - 1);
                // A few tokens per warm-up run: a full untimed run of a large model would double the test's time.
                int[] warmupTokens = Arrays.copyOf(tokens, Math.min(tokens.length, DECODE_WARMUP_TOKENS));
                long[] samples = measure(where + " tg" + tokens.length, () -> decode(llm, tokens), () -> decode(llm, warmupTokens));
                results.add(new BenchResult(info, llm.deviceName(), effectiveThreads, 0, 0, tokens.length, samples,
                        ModelFlops.decode(info.config(), tokens.length)));
            }
            return PeakMemory.Resident.now(modelFileResident(llm.model()));
        }
    }

    /** Bytes of the model file's tensors resident in this process now; -1 where the platform does not tell. */
    private static long modelFileResident(LoadedModel model) {
        long total = 0;
        for (io.llmnpu.api.tensor.Tensor t : model.tensors()) {
            java.util.OptionalLong bytes = ResidentMemory.bytes(t.data());
            if (bytes.isEmpty()) {
                return -1;
            }
            total += bytes.getAsLong();
        }
        return total;
    }

    /** The prefill tests on the NPU path: the same prompts, INT8 linears on the NPU, the rest on float devices. */
    private void runNpuPrefill(Path model, RuntimeOptions floatOptions, int threads, int chunk, int config, int configs,
                               List<BenchResult> results) {
        Path calibration = plan.calibration() != null ? plan.calibration() : CalibrationStore.find(model).orElse(null);
        Path temporary = null;
        try {
            if (calibration == null) {
                temporary = Files.createTempFile("llmnpu-bench-", CalibrationFile.SUFFIX);
                calibration = temporary;
                randomCalibration(model, floatOptions, temporary);
            }
            RuntimeOptions options = floatOptions.withNpu(plan.npu()).withCalibration(calibration);
            try (LlmRuntime llm = LlmRuntime.open(options, registry)) {
                BenchModel info = BenchModel.of(llm.model());
                int effectiveThreads = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
                ForwardPass.Result[] last = new ForwardPass.Result[1];
                for (int p : plan.promptSizes()) {
                    int[] prompt = randomTokens(p, info.config().vocabSize(), plan.seed() + p);
                    String where = String.format(Locale.ROOT, "[%d/%d] %s %s NPU path t=%d c=%d pp%d", config, configs,
                            info.name(), info.type(), effectiveThreads, chunk, p);
                    Run run = () -> {
                        try (InferenceSession session = llm.openSession()) {
                            long t0 = System.nanoTime();
                            session.feed(prompt);
                            long ns = System.nanoTime() - t0;
                            last[0] = session.lastRun();
                            return ns;
                        }
                    };
                    long[] samples = measure(where, run, run);
                    if (!last[0].usedNpu()) {
                        throw new IllegalStateException("no device of " + plan.npu() + " runs the INT8 linear layers");
                    }
                    results.add(new BenchResult(info, devicesOf(last[0]) + " (" + last[0].path() + ")", effectiveThreads,
                            chunk, p, 0, samples, ModelFlops.prefill(info.config(), p)));
                }
                if (plan.trace() != null && last[0] != null) {
                    Files.writeString(plan.trace(), last[0].ganttSvg(model.getFileName() + ", prompt of "
                            + plan.promptSizes().getLast() + " tokens"), StandardCharsets.UTF_8);
                    log.accept("wrote the Gantt chart of the last NPU prompt run to " + plan.trace());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            if (temporary != null) {
                try {
                    Files.deleteIfExists(temporary);
                } catch (IOException e) {
                    log.accept("cannot delete " + temporary + ": " + e);
                }
            }
        }
    }

    /** Scales from random tokens: prefill speed does not depend on them. */
    private void randomCalibration(Path model, RuntimeOptions options, Path target) throws IOException {
        log.accept(model.getFileName() + ": no calibration; calibrating on random tokens for the NPU rows");
        try (LlmRuntime llm = LlmRuntime.open(options, registry);
             DevicePlan devices = DevicePlan.open(registry, DevicePlan.Config.of(options.backend(),
                     new BackendOptions(options.threads())))) {
            var config = llm.model().config();
            int length = Math.min(128, llm.contextLength());
            List<int[]> sequences = List.of(randomTokens(length, config.vocabSize(), 1), randomTokens(length, config.vocabSize(), 2));
            CalibrationData data = new Calibrator(config, llm.model().weights(), devices, Calibrator.Options.DEFAULTS)
                    .run(sequences, model.getFileName().toString(), Files.size(model), "random tokens", ProgressListener.none());
            CalibrationFile.write(data, target);
        }
    }

    private static String devicesOf(ForwardPass.Result run) {
        return String.join(" + ", run.trace().busyShares().keySet());
    }

    /** Time the JIT has spent compiling so far; -1 where the JVM does not say (then warm-up is time only). */
    private static long compilationMillis() {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit.getTotalCompilationTime() : -1;
    }

    private static int effectiveThreads(int threads) {
        return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    }

    /** One timed run; returns its duration in nanoseconds. */
    @FunctionalInterface
    private interface Run {
        long time();
    }

    private long[] measure(String what, Run run, Run warmup) {
        if (plan.warmup()) {
            long total = 0;
            long compiledAt = 0;
            long compiled = compilationMillis();
            int runs = 0;
            // Settled once the JIT has compiled nothing for a second of runs (it compiles kernels one after
            // another, with plateaus between, so "runs stopped getting faster" can come too early).
            while (total < WARMUP_NANOS || (total - compiledAt < SETTLE_NANOS && total < MAX_WARMUP_NANOS)) {
                total += warmup.time();
                runs++;
                long now = compilationMillis();
                if (now != compiled) {
                    compiled = now;
                    compiledAt = total;
                }
            }
            log.accept(String.format(Locale.ROOT, "%s: warm-up %.2f s (%d run%s)", what, total / 1e9, runs,
                    runs == 1 ? "" : "s"));
        }
        long[] samples = new long[plan.repetitions()];
        for (int r = 0; r < samples.length; r++) {
            samples[r] = run.time();
            log.accept(String.format(Locale.ROOT, "%s: run %d/%d %.2f s", what, r + 1, samples.length, samples[r] / 1e9));
        }
        return samples;
    }

    private static long prefill(LlmRuntime llm, int[] prompt) {
        try (InferenceSession session = llm.openSession()) {
            long t0 = System.nanoTime();
            session.feed(prompt);
            return System.nanoTime() - t0;
        }
    }

    private static long decode(LlmRuntime llm, int[] tokens) {
        try (InferenceSession session = llm.openSession()) {
            long t0 = System.nanoTime();
            for (int token : tokens) {
                session.feed(token);
            }
            return System.nanoTime() - t0;
        }
    }

    private static int[] randomTokens(int n, int vocab, long seed) {
        Random random = new Random(seed);
        int[] tokens = new int[n];
        for (int i = 0; i < n; i++) {
            tokens[i] = random.nextInt(vocab);
        }
        return tokens;
    }

    /** CPU model, cores, Java and OS, for comparing results across machines. */
    static Map<String, String> machine() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("cpu", cpuModel());
        m.put("cores", Integer.toString(Runtime.getRuntime().availableProcessors()));
        m.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
        return m;
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"), StandardCharsets.UTF_8)) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: fall through
        }
        return System.getProperty("os.arch");
    }
}
