package io.llmnpu.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.Affinity;
import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.api.backend.Capability;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.backend.cpu.CpuBackendProvider;
import io.llmnpu.backend.npu.reference.ReferenceNpuProvider;
import io.llmnpu.runtime.api.CancellationToken;
import io.llmnpu.runtime.api.GenerationRequest;
import io.llmnpu.runtime.api.GenerationResult;
import io.llmnpu.runtime.api.LlmRuntime;
import io.llmnpu.runtime.api.RuntimeOptions;
import io.llmnpu.runtime.measure.Calibrator;
import io.llmnpu.runtime.model.load.LoadedModel;
import io.llmnpu.runtime.model.load.ModelLoader;
import io.llmnpu.runtime.model.SharedModels;
import io.llmnpu.runtime.quant.CalibrationFile;
import io.llmnpu.runtime.quant.ParagraphChunker;
import io.llmnpu.runtime.quant.SharedText;
import io.llmnpu.runtime.model.ProgressListener;
import io.llmnpu.runtime.osgi.ThreadLeaks;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The NPU path in generation: prompts run with INT8 linears on the reference NPU when it is there and
 * the model is calibrated; an NPU that fails or is unplugged in the middle of a prompt hands the rest of
 * the prompt to the float devices (one warning) and the generation completes; an NPU plugged in between
 * requests is used from the next prompt on.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NpuFailoverTest {
    private static final GenerationRequest REQUEST = GenerationRequest.greedy(
            "Once upon a time, there was a little girl named Lily. She loved to play outside in the sun. "
                    + "One day, she saw a big red ball in the park and wanted to play with it.", 12);

    @TempDir
    static Path dir;
    private RuntimeOptions options;

    @BeforeAll
    void calibrate() throws Exception {
        Path model = SharedModels.file("stories260K.gguf");
        Path calibration = dir.resolve("stories.calib.json");
        try (LoadedModel m = ModelLoader.load(model, null, ProgressListener.none());
             Backend cpu = new CpuBackendProvider().create(new BackendOptions(1))) {
            CalibrationFile.write(new Calibrator(m.config(), m.weights(), cpu.devices().getFirst(), Calibrator.Options.DEFAULTS)
                    .run(ParagraphChunker.DEFAULT.sequences(SharedText.read("tinystories-calib.txt"), m.tokenizer(), 8),
                            "stories260K.gguf", 0, "calib", ProgressListener.none()), calibration);
        }
        // Chunks of 8: the prompt (about 45 tokens) runs as six chunks, so a failure can strike in the middle.
        options = RuntimeOptions.of(model).withThreads(1).withChunkSize(8).withContextLength(128)
                .withCalibration(calibration);
    }

    private static GenerationResult generate(LlmRuntime llm) {
        return llm.generate(REQUEST, null, new CancellationToken());
    }

    @Test
    void promptsRunOnTheNpuWhenPresentAndInFloatWhenNot() {
        try (LlmRuntime llm = LlmRuntime.open(options, new BackendRegistry(List.of(new CpuBackendProvider(),
                new ReferenceNpuProvider())))) {
            GenerationResult r = generate(llm);
            assertEquals("w8a8-shadow", r.prefill().path());
            assertEquals(Set.of("npu-ref/npu0", "cpu/cpu0"), r.prefill().deviceBusy().keySet());
            assertEquals("cpu/cpu0", llm.deviceName(), "decode runs on the float device");
            assertTrue(r.ttftSeconds() > 0 && r.tokens().length == 12);
        }
        try (LlmRuntime llm = LlmRuntime.open(options.withNpu("off"), new BackendRegistry(List.of(new CpuBackendProvider(),
                new ReferenceNpuProvider())))) {
            assertEquals("float", generate(llm).prefill().path(), "--npu off");
        }
    }

    @Test
    void npuFailingMidPromptHandsTheRestToTheCpu() throws Exception {
        Set<Thread> before = ThreadLeaks.running();
        WrappedNpu npu = new WrappedNpu(n -> {
            if (n > 200) {
                throw new BackendException("NPU lost after 200 executions");
            }
        });
        try (StderrCapture log = new StderrCapture()) {
            try (LlmRuntime llm = LlmRuntime.open(options, new BackendRegistry(List.of(new CpuBackendProvider(), npu)))) {
                GenerationResult r = generate(llm);
                assertEquals(12, r.tokens().length, "the generation completed");
                assertEquals(1, r.prefill().failovers());
                assertEquals("float", r.prefill().path(), "the rest of the prompt ran in float");
                assertEquals(List.of("cpu/cpu0"), llm.devices());
                assertEquals("float", generate(llm).prefill().path(), "the failed NPU stays out");
            }
            assertEquals(201, npu.executions.get(), "the NPU ran until it failed, then never again");
            assertEquals(1, log.linesContaining("[WARN]"), log.text());
            assertEquals(1, log.linesContaining("wrapped/npu0 failed while running"), log.text());
        }
        assertEquals(List.of(), ThreadLeaks.since(before, 10), "threads left running");
    }

    @Test
    void npuUnpluggedMidPromptAndPluggedBackBetweenRequests() throws Exception {
        BackendRegistry live = BackendRegistry.live();
        live.publish(new CpuBackendProvider());
        AtomicInteger unplugs = new AtomicInteger();
        WrappedNpu[] npu = new WrappedNpu[1];
        npu[0] = new WrappedNpu(n -> {
            if (n == 150 && unplugs.getAndIncrement() == 0) {
                // Unplug from another thread, as a bundle stop would; it waits for the prompt to finish.
                Thread.ofPlatform().name("test-unplug").start(() -> live.withdraw(npu[0]));
                while (live.providers().contains(npu[0])) {
                    Thread.onSpinWait();
                }
                try {
                    Thread.sleep(50);           // the plan marks the device at once, on the unplugging thread
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        try (StderrCapture log = new StderrCapture();
             LlmRuntime llm = LlmRuntime.open(options, live)) {
            assertEquals("float", generate(llm).prefill().path(), "no NPU yet");
            live.publish(npu[0]);
            GenerationResult unplugged = generate(llm);
            assertEquals(12, unplugged.tokens().length);
            assertEquals(1, unplugged.prefill().failovers(), "the NPU left in the middle of the prompt");
            assertEquals(List.of("cpu/cpu0"), llm.devices());
            assertEquals(1, npu[0].closed.get(), "the unplugged backend was closed");
            assertEquals(1, log.linesContaining("(its backend was unplugged)"), log.text());
            live.publish(npu[0]);
            GenerationResult back = generate(llm);
            assertEquals("w8a8-shadow", back.prefill().path(), "plugged in again: the next prompt uses it");
            assertTrue(back.prefill().deviceBusy().containsKey("wrapped/npu0"));
        }
    }

    /** The reference NPU under another name, calling a hook before each execution (with its count). */
    private static final class WrappedNpu implements BackendProvider {
        final AtomicInteger executions = new AtomicInteger();
        final AtomicInteger closed = new AtomicInteger();
        private final IntConsumer beforeExecution;

        WrappedNpu(IntConsumer beforeExecution) {
            this.beforeExecution = beforeExecution;
        }

        @Override
        public String name() {
            return "wrapped";
        }

        @Override
        public Backend create(BackendOptions options) {
            Backend inner = new ReferenceNpuProvider().create(options);
            Device device = inner.devices().getFirst();
            Device wrapped = new Device() {
                @Override
                public String name() {
                    return device.name();
                }

                @Override
                public DeviceKind kind() {
                    return device.kind();
                }

                @Override
                public Set<Capability> capabilities() {
                    return device.capabilities();
                }

                @Override
                public long memoryBytes() {
                    return device.memoryBytes();
                }

                @Override
                public Affinity affinity(Op op) {
                    return device.affinity(op);
                }

                @Override
                public CompiledGraph compile(Subgraph graph) {
                    CompiledGraph g = device.compile(graph);
                    return new CompiledGraph() {
                        @Override
                        public Subgraph graph() {
                            return g.graph();
                        }

                        @Override
                        public void execute(Map<Value, Tensor> bindings) {
                            beforeExecution.accept(executions.incrementAndGet());
                            g.execute(bindings);
                        }

                        @Override
                        public void close() {
                            g.close();
                        }
                    };
                }
            };
            return new Backend() {
                @Override
                public String name() {
                    return "wrapped";
                }

                @Override
                public List<Device> devices() {
                    return List.of(wrapped);
                }

                @Override
                public void close() {
                    closed.incrementAndGet();
                    inner.close();
                }
            };
        }
    }
}
