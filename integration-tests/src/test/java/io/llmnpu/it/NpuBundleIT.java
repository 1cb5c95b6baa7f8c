package io.llmnpu.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.backend.cpu.CpuBackendProvider;
import io.llmnpu.runtime.api.CancellationToken;
import io.llmnpu.runtime.api.GenerationRequest;
import io.llmnpu.runtime.api.GenerationResult;
import io.llmnpu.runtime.api.LlmRuntime;
import io.llmnpu.runtime.model.ProgressListener;
import io.llmnpu.runtime.api.RuntimeOptions;
import io.llmnpu.runtime.engine.BackendRegistry;
import io.llmnpu.runtime.measure.Calibrator;
import io.llmnpu.runtime.model.load.LoadedModel;
import io.llmnpu.runtime.model.load.ModelLoader;
import io.llmnpu.runtime.osgi.BackendHost;
import io.llmnpu.runtime.quant.CalibrationFile;
import io.llmnpu.runtime.quant.ParagraphChunker;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reference NPU as an OSGi bundle on Felix, with the CPU bundle beside it: plugged in between two
 * requests, the second prompt runs its INT8 linears on it; unplugged in the middle of a prompt, the rest
 * of the prompt runs on the CPU with one warning and the generation completes; nothing is left running
 * and no file is left behind.
 */
class NpuBundleIT {
    private static final Duration POLL = Duration.ofMillis(50);
    private static final Path SHARED = Path.of(System.getProperty("llmnpu.shared.dir", "../shared"));

    @TempDir
    Path work;
    private Path bundles;
    private RuntimeOptions options;
    private String longPrompt;

    @BeforeEach
    void calibrateAndLayOutBundles() throws Exception {
        Path model = SHARED.resolve("models/stories260K.gguf");
        assumeTrue(Files.isRegularFile(model), "stories260K.gguf not found at " + model);
        String text = Files.readString(SHARED.resolve("data/tinystories-calib.txt"), StandardCharsets.UTF_8);
        Path calibration = work.resolve("stories.calib.json");
        try (LoadedModel m = ModelLoader.load(model, null, ProgressListener.none());
             Backend cpu = new CpuBackendProvider().create(new BackendOptions(1))) {
            CalibrationFile.write(new Calibrator(m.config(), m.weights(), cpu.devices().getFirst(), Calibrator.Options.DEFAULTS)
                    .run(ParagraphChunker.DEFAULT.sequences(text, m.tokenizer(), 6), "stories260K.gguf", 0, "calib",
                            ProgressListener.none()), calibration);
        }
        options = RuntimeOptions.of(model).withThreads(1).withChunkSize(8).withContextLength(1024).withCalibration(calibration);
        StringBuilder prompt = new StringBuilder();
        for (String p : ParagraphChunker.paragraphs(text)) {
            if (prompt.length() > 500) {
                break;
            }
            prompt.append(p).append('\n');
        }
        longPrompt = prompt.toString();
        bundles = Files.createDirectories(work.resolve("bundles"));
        BundleJars.drop(BundleJars.cpuBundle(), bundles, "cpu.jar");
    }

    private static GenerationResult generate(LlmRuntime llm, String prompt) {
        return llm.generate(GenerationRequest.greedy(prompt, 8), null, new CancellationToken());
    }

    @Test
    void npuBundlePluggedInBetweenRequestsRunsTheNextPrompt() throws Exception {
        Set<Thread> threadsBefore = Set.copyOf(Thread.getAllStackTraces().keySet());
        Set<Path> tempBefore = tempFiles();
        try (BackendHost host = BackendHost.start(bundles, POLL);
             LlmRuntime llm = LlmRuntime.open(options, host.registry())) {
            GenerationResult first = generate(llm, "Once upon a time, there was a little dog named Max.");
            assertEquals("float", first.prefill().path(), "no NPU plugged in yet");
            BundleJars.drop(BundleJars.npuBundle(), bundles, "npu-ref.jar");
            await("the npu-ref bundle is plugged in", () -> names(host.registry()).contains("npu-ref"));
            GenerationResult second = generate(llm, "Once upon a time, there was a little dog named Max.");
            assertEquals("w8a8-shadow", second.prefill().path(), "the next prompt runs on the NPU");
            assertTrue(second.prefill().deviceBusy().containsKey("npu-ref/npu0"), second.prefill().deviceBusy().toString());
            assertEquals(8, second.tokens().length);
        }
        assertEquals(List.of(), newThreads(threadsBefore), "threads left running");
        assertEquals(tempBefore, tempFiles(), "files left in the temp folder");
    }

    @Test
    void npuBundleUnpluggedMidPromptHandsTheRestToTheCpu() throws Exception {
        BundleJars.drop(BundleJars.npuBundle(), bundles, "npu-ref.jar");
        Set<Thread> threadsBefore = Set.copyOf(Thread.getAllStackTraces().keySet());
        Set<Path> tempBefore = tempFiles();
        PrintStream stderr = System.err;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
        GenerationResult result = null;
        try (BackendHost host = BackendHost.start(bundles, POLL)) {
            await("the npu-ref bundle is plugged in", () -> names(host.registry()).contains("npu-ref"));
            try (LlmRuntime llm = LlmRuntime.open(options, host.registry())) {
                // The prompt takes a while on the NPU path; the jar goes as soon as the NPU's worker is busy.
                for (int attempt = 0; attempt < 3 && (result == null || result.prefill().failovers() == 0); attempt++) {
                    if (!Files.exists(bundles.resolve("npu-ref.jar"))) {
                        BundleJars.drop(BundleJars.npuBundle(), bundles, "npu-ref.jar");
                        await("the npu-ref bundle is back", () -> names(host.registry()).contains("npu-ref"));
                    }
                    AtomicReference<GenerationResult> out = new AtomicReference<>();
                    AtomicReference<Throwable> failure = new AtomicReference<>();
                    Thread generation = Thread.ofPlatform().name("test-generation").start(() -> {
                        try {
                            out.set(generate(llm, longPrompt));
                        } catch (Throwable t) {
                            failure.set(t);
                        }
                    });
                    await("the NPU worker runs the prompt", () -> !generation.isAlive() || npuWorkerRunning());
                    Files.delete(bundles.resolve("npu-ref.jar"));
                    generation.join(300_000);
                    if (failure.get() != null) {
                        throw new AssertionError("the generation failed", failure.get());
                    }
                    result = out.get();
                    await("the npu-ref bundle is unplugged", () -> !names(host.registry()).contains("npu-ref"));
                }
                assertEquals(List.of("cpu/cpu0"), llm.devices());
            }
        } finally {
            System.setErr(stderr);
            stderr.print(log.toString(StandardCharsets.UTF_8));
        }
        assertEquals(8, result.tokens().length, "the generation completed");
        assertEquals(1, result.prefill().failovers(), "the NPU left in the middle of the prompt");
        assertEquals("float", result.prefill().path(), "the rest of the prompt ran in float");
        String logged = log.toString(StandardCharsets.UTF_8);
        assertEquals(1, logged.lines().filter(l -> l.contains("[WARN]")).count(), logged);
        assertTrue(logged.lines().anyMatch(l -> l.contains("[WARN]") && l.contains("npu-ref/npu0 failed while running")
                && l.contains("its backend was unplugged")), logged);
        assertEquals(List.of(), newThreads(threadsBefore), "threads left running");
        assertEquals(tempBefore, tempFiles(), "files left in the temp folder");
    }

    private static boolean npuWorkerRunning() {
        return Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().equals("llmnpu-worker-npu-ref/npu0"));
    }

    private static List<String> names(BackendRegistry registry) {
        return registry.providers().stream().map(BackendProvider::name).toList();
    }

    private static Set<Path> tempFiles() throws IOException {
        try (Stream<Path> tmp = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return Set.copyOf(tmp.filter(p -> p.getFileName().toString().startsWith("llmnpu")).toList());
        }
    }

    private static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.onSpinWait();
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting until " + what);
            }
        }
    }

    /** Threads alive now that were not before, ignoring JDK threads that start lazily and live for the JVM. */
    private static List<String> newThreads(Set<Thread> before) throws InterruptedException {
        List<String> jvmWide = List.of("Common-Cleaner", "ForkJoinPool.commonPool-worker-", "process reaper",
                "Attach Listener", "surefire-forkedjvm-");
        List<String> extra = List.of();
        for (int i = 0; i < 200; i++) {
            extra = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.isAlive() && !before.contains(t))
                    .filter(t -> jvmWide.stream().noneMatch(t.getName()::startsWith))
                    .map(Thread::getName).sorted().toList();
            if (extra.isEmpty()) {
                break;
            }
            Thread.sleep(50);
        }
        return extra;
    }
}
