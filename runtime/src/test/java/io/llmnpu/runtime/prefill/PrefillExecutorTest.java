package io.llmnpu.runtime.prefill;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.Device;
import io.llmnpu.backend.cpu.CpuBackend;
import io.llmnpu.backend.npu.reference.NpuSettings;
import io.llmnpu.backend.npu.reference.ReferenceNpuBackend;
import io.llmnpu.runtime.api.ProgressListener;
import io.llmnpu.runtime.engine.ExecutionTrace;
import io.llmnpu.runtime.engine.HybridForwardPass;
import io.llmnpu.runtime.engine.KvCache;
import io.llmnpu.runtime.model.LoadedModel;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelLoader;
import io.llmnpu.runtime.quant.CalibrationData;
import io.llmnpu.runtime.quant.Calibrator;
import io.llmnpu.runtime.quant.Int8WeightStore;
import io.llmnpu.runtime.quant.PlantedOutlierModel;
import io.llmnpu.runtime.quant.QuantConfig;
import io.llmnpu.runtime.quant.QuantMode;
import io.llmnpu.runtime.quant.QuantPlan;
import io.llmnpu.runtime.quant.QuantizedGraphBuilder;
import io.llmnpu.scheduler.CostTable;
import io.llmnpu.scheduler.Policies;
import io.llmnpu.scheduler.ScheduleValidator;
import io.llmnpu.scheduler.SchedulingPolicy;
import io.llmnpu.scheduler.TaskGraph;
import io.llmnpu.scheduler.TaskKind;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real chunked W8A8 prefill (NPU reference backend plus CPU shadows) run as a task DAG under every
 * policy: the last position's logits are the same bit for bit whatever the order, they agree with a
 * one-chunk forward pass through the stage-by-stage runner, and every recorded run keeps the
 * dependencies and one task at a time per device.
 */
class PrefillExecutorTest {

    @TempDir
    Path dir;

    @Test
    void everyPolicyComputesTheSameLogitsAndKeepsTheDependencies() throws Exception {
        PlantedOutlierModel spec = new PlantedOutlierModel(64, 384, 3, 4, 2, 128, 2, 40f, 0.02, 7);
        Path file = spec.write(dir.resolve("planted.gguf"));
        int promptTokens = 40;   // three chunks of 16, the last one padded
        int chunk = 16;
        int cacheRows = 64;
        try (LoadedModel model = ModelLoader.load(file, null, ProgressListener.none());
             CpuBackend cpuBackend = new CpuBackend(new BackendOptions(1));
             ReferenceNpuBackend npuBackend = new ReferenceNpuBackend(new NpuSettings(1, null));
             Int8WeightStore store = new Int8WeightStore();
             KvCache cache = new KvCache(model.config(), cacheRows)) {
            ModelConfig config = model.config();
            Device cpu = cpuBackend.devices().getFirst();
            Device npu = npuBackend.devices().getFirst();
            CalibrationData calibration = new Calibrator(config, model.weights(), cpu, Calibrator.Options.DEFAULTS)
                    .run(spec.bigramSequences(3, 64, 0.8, 5), "planted", 0, "bigrams", ProgressListener.none());
            QuantPlan plan = QuantPlan.create(config, model.weights(), calibration, QuantConfig.of(QuantMode.SHADOW), store);
            QuantizedGraphBuilder builder = new QuantizedGraphBuilder(config, model.weights(), plan);
            int[] prompt = spec.bigramSequences(1, promptTokens, 0.8, 11).getFirst();

            float[] reference;
            try (KvCache oneChunkCache = new KvCache(config, cacheRows);
                 HybridForwardPass pass = new HybridForwardPass(config, rows -> builder.body(rows, cacheRows),
                         model.weights().output(), npu, cpu, cacheRows, new ExecutionTrace())) {
                reference = HybridForwardPass.row(pass.logits(oneChunkCache, prompt), promptTokens - 1);
            }

            try (ChunkedPrefill prefill = new ChunkedPrefill(config, rows -> builder.body(rows, cacheRows),
                    model.weights().output(), npu, cpu, cache, promptTokens, chunk)) {
                assertEquals(3, prefill.chunks());
                assertDagShape(prefill, config.layers());
                PrefillExecutor executor = new PrefillExecutor(prefill);
                prefill.setPrompt(prompt);
                PrefillTrace first = executor.run(Policies.byName("in-order"), prefill.uniformCosts());
                float[] inOrder = prefill.lastLogits();
                assertClose(reference, inOrder, "chunked in-order prefill against one chunk through HybridRunner");
                CostTable measured = first.measuredCosts();
                ScheduleValidator validator = new ScheduleValidator();
                boolean greedyLeftProgramOrder = false;
                for (int repeat = 0; repeat < 2; repeat++) {
                    for (SchedulingPolicy policy : Policies.all()) {
                        cache.keys(0).data().fill((byte) 0x7f);  // stale cache contents must not matter
                        PrefillTrace trace = executor.run(policy, measured);
                        assertArrayEquals(inOrder, prefill.lastLogits(), policy.name() + " changes the logits");
                        assertEquals(List.of(), validator.violations(trace.toSchedule()), policy.name());
                        for (int t = 0; t < prefill.graph().size(); t++) {
                            assertEquals(prefill.job(t).device(), trace.device()[t], "device of task " + t);
                            assertTrue(trace.cpuNanos()[t] >= 0 && trace.begin()[t] <= trace.finish()[t], "times of task " + t);
                        }
                        double wall = trace.seconds();
                        assertTrue(trace.busySeconds(ChunkedPrefill.NPU) <= wall && trace.busySeconds(ChunkedPrefill.CPU) <= wall,
                                "a device is busy at most for the whole run");
                        if (policy.name().equals("greedy")) {
                            for (int t = 1; t < prefill.graph().size(); t++) {
                                greedyLeftProgramOrder |= trace.begin()[t] < trace.begin()[t - 1];
                            }
                        }
                        if (policy.name().equals("in-order")) {
                            for (int t = 1; t < prefill.graph().size(); t++) {
                                assertTrue(trace.begin()[t] >= trace.begin()[t - 1], "in-order starts in program order");
                            }
                        }
                    }
                }
                assertTrue(greedyLeftProgramOrder, "greedy really runs tasks out of program order");
                SchedulingPolicy never = policy("never", (view, device) -> SchedulingPolicy.IDLE);
                assertThrows(IllegalStateException.class, () -> executor.run(never, measured),
                        "a policy that starves both devices is reported, not waited on forever");
                SchedulingPolicy reckless = policy("reckless", (view, device) -> {
                    for (int t = prefill.graph().size() - 1; t >= 0; t--) {
                        if (!view.isStarted(t) && prefill.job(t).device() == device) {
                            return t;
                        }
                    }
                    return SchedulingPolicy.IDLE;
                });
                assertThrows(IllegalStateException.class, () -> executor.run(reckless, measured),
                        "a task whose dependencies have not finished is refused");
            }
        }
    }

    private static SchedulingPolicy policy(String name, SchedulingPolicy.Dispatcher dispatcher) {
        return new SchedulingPolicy() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Dispatcher newRun(TaskGraph graph, CostTable costs) {
                return dispatcher;
            }
        };
    }

    /** Attention waits for the previous chunk's attention of the same layer; nothing else links chunks. */
    private static void assertDagShape(ChunkedPrefill prefill, int layers) {
        TaskGraph g = prefill.graph();
        int attentions = 0;
        for (int t = 0; t < g.size(); t++) {
            var task = g.task(t);
            int crossChunk = 0;
            for (int p : g.predecessors(t)) {
                var before = g.task(p);
                if (before.chunk() != task.chunk()) {
                    assertEquals(TaskKind.ATTENTION, task.kind(), "only attention waits for another chunk");
                    assertEquals(TaskKind.ATTENTION, before.kind());
                    assertEquals(task.chunk() - 1, before.chunk());
                    assertEquals(task.layer(), before.layer());
                    crossChunk++;
                }
            }
            if (task.kind() == TaskKind.ATTENTION) {
                attentions++;
                assertEquals(task.chunk() == 0 ? 0 : 1, crossChunk, task.describe());
            }
        }
        assertEquals(layers * prefill.chunks(), attentions);
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        float scale = 0;
        for (float e : expected) {
            scale = Math.max(scale, Math.abs(e));
        }
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-4f * scale, what + " at " + i);
        }
    }
}
