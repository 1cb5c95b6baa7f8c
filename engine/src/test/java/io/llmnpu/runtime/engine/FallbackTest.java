package io.llmnpu.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.api.graph.Op;
import io.llmnpu.backend.cpu.CpuBackendProvider;
import io.llmnpu.runtime.api.CancellationToken;
import io.llmnpu.runtime.api.GenerationRequest;
import io.llmnpu.runtime.api.GenerationResult;
import io.llmnpu.runtime.api.LlmRuntime;
import io.llmnpu.runtime.api.RuntimeOptions;
import io.llmnpu.runtime.api.TokenListener;
import io.llmnpu.runtime.model.SharedModels;
import io.llmnpu.runtime.model.load.LoadedModel;
import io.llmnpu.runtime.model.load.ModelLoader;
import io.llmnpu.runtime.sampling.SamplerConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A device that fails, or whose backend is unplugged, in the middle of a generation: the work in
 * flight moves to the remaining devices and the generation ends with the tokens a CPU-only run
 * produces. The test backends run the CPU's kernels under another name, so whichever device runs an
 * op, the numbers are the CPU's.
 *
 * <p>With chunks of 4, the prompt (BOS + 4 tokens) runs as two body chunks and the head, then each
 * decode step as one body row and the head: executions 1-3 are prefill, 4 onwards decode.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FallbackTest {
    private static final String PROMPT = "Once upon a time";
    private static final int TOKENS = 40;
    private static final GenerationRequest REQUEST = new GenerationRequest(PROMPT, TOKENS,
            SamplerConfig.standard(0.9f, 40, 0.95f, 0.0f, 4242), false);

    private RuntimeOptions options;
    private int[] cpuOnly;

    @BeforeAll
    void generateOnTheCpuAlone() {
        options = RuntimeOptions.of(SharedModels.file("stories260K.gguf"))
                .withThreads(2).withChunkSize(4).withContextLength(128);
        try (LlmRuntime llm = LlmRuntime.open(options, new BackendRegistry(List.of(new CpuBackendProvider())))) {
            cpuOnly = generate(llm, null).tokens();
        }
        assertEquals(TOKENS, cpuOnly.length);
    }

    private static GenerationResult generate(LlmRuntime llm, TokenListener listener) {
        return llm.generate(REQUEST, listener, new CancellationToken());
    }

    @ParameterizedTest(name = "device fails after {0} good executions")
    @ValueSource(ints = {0, 1, 2, 3, 4, 17})
    void failingDeviceHandsItsStepToTheCpu(int goodExecutions) {
        FlakyBackendProvider flaky = FlakyBackendProvider.failingAfter(goodExecutions);
        BackendRegistry registry = new BackendRegistry(List.of(new CpuBackendProvider(), flaky));
        try (StderrCapture log = new StderrCapture()) {
            int[] tokens;
            try (LlmRuntime llm = LlmRuntime.open(options, registry)) {
                assertEquals(List.of("flaky/flaky0", "cpu/cpu0"), llm.devices(), "a GPU ranks before the CPU");
                tokens = generate(llm, null).tokens();
                assertEquals("cpu/cpu0", llm.deviceName());
                assertEquals(List.of("cpu/cpu0"), llm.devices());
            }
            assertArrayEquals(cpuOnly, tokens, "tokens after falling back differ from a CPU-only run");
            assertEquals(goodExecutions + 1, flaky.executions.get(), "the flaky device ran until it failed, then never again");
            assertEquals(1, log.linesContaining("flaky/flaky0 failed while running"), log.text());
            assertEquals(1, log.linesContaining("[WARN]"), log.text());
            assertTrue(log.text().contains("flaky device lost after " + goodExecutions + " executions"),
                    "the warning carries its cause: " + log.text());
            assertEquals(flaky.backendsCreated.get(), flaky.backendsClosed.get(), "the failed backend was closed");
        }
    }

    @Test
    void deviceThatCannotCompileIsSkippedAtOpen() {
        FlakyBackendProvider broken = new FlakyBackendProvider("broken", DeviceKind.NPU, FlakyBackendProvider.RELIABLE, true);
        try (StderrCapture log = new StderrCapture();
             LlmRuntime llm = LlmRuntime.open(options, new BackendRegistry(List.of(broken, new CpuBackendProvider())))) {
            assertArrayEquals(cpuOnly, generate(llm, null).tokens());
            assertEquals(1, log.linesContaining("broken/broken0 failed while running llama-head"), log.text());
            assertEquals(0, broken.executions.get());
        }
    }

    @Test
    void deviceMissingAnOpRunsTheRestAndANamedBackendTakesEverythingItRuns() {
        FlakyBackendProvider gpu = new FlakyBackendProvider("gpu", DeviceKind.GPU, FlakyBackendProvider.RELIABLE, false);
        FlakyBackendProvider npu = new FlakyBackendProvider("npu", DeviceKind.NPU, FlakyBackendProvider.RELIABLE, false)
                .refusing(Op.Attention.class);
        BackendRegistry registry = new BackendRegistry(List.of(new CpuBackendProvider(), gpu, npu));
        try (LlmRuntime llm = LlmRuntime.open(options, registry)) {
            assertEquals(List.of("npu/npu0", "gpu/gpu0", "cpu/cpu0"), llm.devices(), "every device is used for what it runs");
            assertArrayEquals(cpuOnly, generate(llm, null).tokens());
            assertTrue(npu.executions.get() > 0, "the NPU ran everything but attention");
            assertTrue(gpu.executions.get() > 0, "attention went to the next device, the GPU");
        }
        int gpuBefore = gpu.executions.get();
        int npuBefore = npu.executions.get();
        try (LlmRuntime llm = LlmRuntime.open(options.withBackend("cpu"), registry)) {
            assertEquals("cpu/cpu0", llm.devices().getFirst(), "the named backend first");
            assertArrayEquals(cpuOnly, generate(llm, null).tokens());
            assertEquals(gpuBefore, gpu.executions.get(), "the GPU stays idle while the named CPU works");
            assertEquals(npuBefore, npu.executions.get(), "so does the NPU");
        }
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> LlmRuntime.open(options, new BackendRegistry(List.of(npu))));
        assertTrue(e.getMessage().startsWith("no device runs Attention (in llama-body-1); devices: [npu/npu0]"),
                e.getMessage());
    }

    @Test
    void namedCpuBackendThatRunsEverythingLeavesTheOthersUnstartedUntilItLeaves() {
        FlakyBackendProvider gpu = new FlakyBackendProvider("gpu", DeviceKind.GPU, FlakyBackendProvider.RELIABLE, false);
        FlakyBackendProvider npu = new FlakyBackendProvider("npu", DeviceKind.NPU, FlakyBackendProvider.RELIABLE, false);
        CpuBackendProvider cpu = new CpuBackendProvider();
        BackendRegistry registry = BackendRegistry.live();
        registry.publish(gpu);
        registry.publish(npu);
        registry.publish(cpu);
        try (LlmRuntime llm = LlmRuntime.open(options.withBackend("cpu"), registry)) {
            assertEquals(List.of("cpu/cpu0"), llm.devices(), "no driver is loaded for devices that would take no op");
            assertEquals(0, gpu.backendsCreated.get() + npu.backendsCreated.get());
            assertArrayEquals(cpuOnly, generate(llm, null).tokens());
            registry.withdraw(cpu);
            assertArrayEquals(cpuOnly, generate(llm, null).tokens(), "the others start once the named one is gone");
            assertEquals(List.of("npu/npu0", "gpu/gpu0"), llm.devices());
        }
        try (LoadedModel model = ModelLoader.load(options.model(), null);
             DevicePlan plan = DevicePlan.open(new BackendRegistry(List.of(gpu, npu, new CpuBackendProvider())),
                     new DevicePlan.Config("cpu", new BackendOptions(2), null,
                             ForwardPass.workload(model.config(), model.weights(), 128), null, Set.of("NPU")))) {
            assertEquals(List.of("cpu/cpu0", "npu/npu0"), plan.devices(), "a backend asked for beside it starts too");
        }
        FlakyBackendProvider other = new FlakyBackendProvider("other", DeviceKind.NPU, FlakyBackendProvider.RELIABLE, false)
                .refusing(Op.Attention.class);
        try (LlmRuntime llm = LlmRuntime.open(options.withBackend("other"), new BackendRegistry(List.of(other, gpu)))) {
            assertEquals(List.of("other/other0", "gpu/gpu0"), llm.devices(),
                    "a named backend that is not a CPU gets the others' devices beside it");
        }
    }

    @Test
    void devicesRankByEstimatedTimeWithTheCpuLast() {
        FlakyBackendProvider slowNpu = new FlakyBackendProvider("npu", DeviceKind.NPU, FlakyBackendProvider.RELIABLE, false)
                .costing(3);
        FlakyBackendProvider fastGpu = new FlakyBackendProvider("gpu", DeviceKind.GPU, FlakyBackendProvider.RELIABLE, false)
                .costing(0.5);
        BackendRegistry registry = new BackendRegistry(List.of(new CpuBackendProvider(), slowNpu, fastGpu));
        try (LlmRuntime llm = LlmRuntime.open(options, registry)) {
            assertEquals(List.of("gpu/gpu0", "npu/npu0", "cpu/cpu0"), llm.devices(),
                    "the slow NPU still goes before the CPU, which is the last resort");
        }
    }

    @Test
    void deviceThatEmulatesAnOpSlowlyHandsItToAnotherUnlessNamed() {
        // Emulating RmsNorm a million times slower: far worse than two hand-offs to the CPU and back.
        FlakyBackendProvider npu = new FlakyBackendProvider("npu", DeviceKind.NPU, FlakyBackendProvider.RELIABLE, false)
                .emulating(Op.RmsNorm.class, 1e6);
        BackendRegistry registry = new BackendRegistry(List.of(new CpuBackendProvider(), npu));
        try (LlmRuntime llm = LlmRuntime.open(options, registry)) {
            assertEquals(List.of("npu/npu0", "cpu/cpu0"), llm.devices());
            int before = npu.executions.get();
            assertArrayEquals(cpuOnly, generate(llm, null).tokens());
            // Every body graph starts with a norm: the CPU runs those, the NPU the stretches between them.
            assertTrue(npu.executions.get() > before);
        }
        try (LlmRuntime llm = LlmRuntime.open(options.withBackend("npu"), registry)) {
            assertEquals(List.of("npu/npu0", "cpu/cpu0"), llm.devices());
            int before = npu.executions.get();
            assertArrayEquals(cpuOnly, generate(llm, null).tokens());
            assertEquals("npu/npu0", llm.deviceName(), "named, it runs even what it only emulates");
            assertTrue(npu.executions.get() > before);
        }
    }

    @Test
    void failureOfTheLastDeviceReachesTheCaller() {
        FlakyBackendProvider only = new FlakyBackendProvider("lonely", DeviceKind.CPU, 5, false);
        try (LlmRuntime llm = LlmRuntime.open(options, new BackendRegistry(List.of(only)))) {
            BackendException e = assertThrows(BackendException.class, () -> generate(llm, null));
            assertEquals("lonely device lost after 5 executions", e.getMessage());
            assertEquals(List.of("lonely/lonely0"), llm.devices(), "the last device stays for the next request");
        }
    }

    @Test
    void backendPluggedInMidGenerationTakesOverAndUnpluggedHandsBack() {
        BackendRegistry live = BackendRegistry.live();
        live.publish(new CpuBackendProvider());
        FlakyBackendProvider npu = new FlakyBackendProvider("twin", DeviceKind.NPU, FlakyBackendProvider.RELIABLE, false);
        List<String> deviceAtToken = new ArrayList<>();
        int[] tokens;
        try (LlmRuntime llm = LlmRuntime.open(options, live)) {
            tokens = generate(llm, (id, text) -> {
                int n = deviceAtToken.size();
                if (n == 5) {
                    live.publish(npu);
                } else if (n == 20) {
                    live.withdraw(npu);
                    // The unplug has released the device before returning.
                    assertEquals(1, npu.backendsClosed.get());
                }
                deviceAtToken.add(llm.deviceName());
            }).tokens();
        }
        assertArrayEquals(cpuOnly, tokens);
        assertEquals("cpu/cpu0", deviceAtToken.get(5), "before the plug");
        assertEquals("twin/twin0", deviceAtToken.get(6), "after the plug, the next step runs on the NPU");
        assertEquals("cpu/cpu0", deviceAtToken.get(20), "after the unplug");
        // Tokens 6..20 were decoded on the plugged-in device: a body and a head each.
        assertEquals(2 * 15, npu.executions.get());
        assertEquals(1, npu.backendsCreated.get());
    }

    @RepeatedTest(4)
    void unplugFromAnotherThreadWaitsForTheStepInFlight() throws Exception {
        BackendRegistry live = BackendRegistry.live();
        live.publish(new CpuBackendProvider());
        FlakyBackendProvider npu = new FlakyBackendProvider("twin", DeviceKind.NPU, FlakyBackendProvider.RELIABLE, false);
        live.publish(npu);
        CountDownLatch midway = new CountDownLatch(1);
        Thread unplugger = Thread.ofPlatform().name("test-unplugger").start(() -> {
            try {
                if (midway.await(30, TimeUnit.SECONDS)) {
                    live.withdraw(npu);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        int[] tokens;
        try (LlmRuntime llm = LlmRuntime.open(options, live)) {
            assertEquals("twin/twin0", llm.deviceName());
            tokens = generate(llm, (id, text) -> midway.countDown()).tokens();
            unplugger.join(30_000);
            assertEquals(1, npu.backendsClosed.get(), "the unplugged backend is closed once the unplug returns");
            assertEquals(List.of("cpu/cpu0"), llm.devices());
        }
        assertArrayEquals(cpuOnly, tokens);
        assertTrue(npu.executions.get() >= 3, "the NPU ran the prefill: " + npu.executions.get());
    }
}
