package io.llmnpu.runtime.engine;

import io.llmnpu.runtime.graph.Architectures;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.api.graph.Op;
import io.llmnpu.runtime.model.ProgressListener;
import io.llmnpu.runtime.measure.Calibrator;
import io.llmnpu.runtime.model.load.LoadedModel;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.load.ModelLoader;
import io.llmnpu.runtime.quant.CalibrationData;
import io.llmnpu.runtime.quant.Int8WeightStore;
import io.llmnpu.runtime.quant.NpuRewrite;
import io.llmnpu.runtime.quant.PlantedOutlierModel;
import io.llmnpu.runtime.quant.QuantConfig;
import io.llmnpu.runtime.quant.QuantMode;
import io.llmnpu.runtime.quant.QuantTestRig;
import io.llmnpu.scheduler.ChunkDag;
import io.llmnpu.scheduler.CostTable;
import io.llmnpu.scheduler.Policies;
import io.llmnpu.scheduler.ScheduleValidator;
import io.llmnpu.scheduler.SchedulingPolicy;
import io.llmnpu.scheduler.Task;
import io.llmnpu.scheduler.TaskGraph;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real chunked W8A8 prefill (INT8 linears on the reference NPU, shadows and the float ops on the CPU)
 * run by the engine as a task DAG under every policy: the last position's logits are the same bit for
 * bit whatever the order, they agree with a one-chunk run, every recorded run keeps the dependencies
 * and one task at a time per device, and shadows run beside the NPU work.
 */
class NpuPrefillDagTest {

    @TempDir
    Path dir;

    @Test
    void everyPolicyComputesTheSameLogitsAndKeepsTheDependencies() throws Exception {
        PlantedOutlierModel spec = new PlantedOutlierModel(64, 384, 3, 4, 2, 128, 2, 40f, 0.02, 7);
        Path file = spec.write(dir.resolve("planted.gguf"));
        int promptTokens = 40;   // three chunks of 16, the last one padded
        int cacheRows = 64;
        try (LoadedModel model = ModelLoader.load(file, null, ProgressListener.none());
             QuantTestRig rig = new QuantTestRig(null);
             Int8WeightStore store = new Int8WeightStore();
             KvCache cache = new KvCache(model.config(), cacheRows)) {
            ModelConfig config = model.config();
            DevicePlan plan = rig.plan();
            CalibrationData calibration = new Calibrator(config, model.weights(), rig.cpu(), Calibrator.Options.DEFAULTS)
                    .run(spec.bigramSequences(3, 64, 0.8, 5), "planted", 0, "bigrams", ProgressListener.none());
            NpuRewrite rewrite = new NpuRewrite(config, model.weights(), calibration, QuantConfig.of(QuantMode.SHADOW), store);
            ForwardPass.NpuPath npu = new ForwardPass.NpuPath(rewrite, null);
            int[] prompt = spec.bigramSequences(1, promptTokens, 0.8, 11).getFirst();

            float[] reference;
            try (KvCache oneChunkCache = new KvCache(config, cacheRows);
                 ForwardPass oneChunk = new ForwardPass(config, Architectures.graphs(config, model.weights()), plan,
                         new ChunkPlanner(64), cacheRows, npu, null)) {
                ForwardPass.Result r = oneChunk.run(ForwardPass.Request.of(oneChunkCache, prompt, 0));
                assertTrue(r.usedNpu());
                assertEquals(1, r.dag().chunks());
                reference = r.lastLogits();
            }

            try (ForwardPass engine = new ForwardPass(config, Architectures.graphs(config, model.weights()), plan,
                    new ChunkPlanner(16), cacheRows, npu, null)) {
                ForwardPass.Request request = ForwardPass.Request.of(cache, prompt, 0);
                ForwardPass.Result first = engine.run(request.withPolicy(Policies.byName("in-order")));
                assertEquals(3, first.dag().chunks());
                assertDagShape(first.dag(), config.layers());
                float[] inOrder = first.lastLogits();
                assertClose(reference, inOrder, "chunked in-order prefill against one chunk");
                CostTable measured = first.trace().measuredCosts();
                ScheduleValidator validator = new ScheduleValidator();
                boolean greedyLeftProgramOrder = false;
                long overlapped = 0;
                for (int repeat = 0; repeat < 2; repeat++) {
                    for (SchedulingPolicy policy : Policies.all()) {
                        cache.keys(0).data().fill((byte) 0x7f);  // stale cache contents must not matter
                        ForwardPass.Result run = engine.run(request.withPolicy(policy).withCosts(measured));
                        RunTrace trace = run.trace();
                        assertArrayEquals(inOrder, run.lastLogits(), policy.name() + " changes the logits");
                        assertEquals(List.of(), validator.violations(trace.toSchedule()), policy.name());
                        for (int t = 0; t < trace.graph().size(); t++) {
                            assertEquals(run.dag().device(t), trace.device()[t], "device of task " + t);
                            assertTrue(trace.cpuNanos()[t] >= 0 && trace.begin()[t] <= trace.finish()[t], "times of task " + t);
                        }
                        double wall = trace.seconds();
                        for (int d = 0; d < trace.devices().size(); d++) {
                            assertTrue(trace.busySeconds(d) <= wall, "a device is busy at most for the whole run");
                        }
                        if (policy.name().equals("greedy")) {
                            for (int t = 1; t < trace.graph().size(); t++) {
                                greedyLeftProgramOrder |= trace.begin()[t] < trace.begin()[t - 1];
                            }
                        }
                        if (policy.name().equals("in-order")) {
                            for (int t = 1; t < trace.graph().size(); t++) {
                                assertTrue(trace.begin()[t] >= trace.begin()[t - 1], "in-order starts in program order");
                            }
                        }
                        overlapped += shadowOverlapNanos(run);
                    }
                }
                assertTrue(greedyLeftProgramOrder, "greedy really runs tasks out of program order");
                assertTrue(overlapped > 0, "shadows ran at the same time as INT8 linears on the NPU");
                SchedulingPolicy never = policy("never", (view, device) -> SchedulingPolicy.IDLE);
                assertThrows(IllegalStateException.class, () -> engine.run(request.withPolicy(never)),
                        "a policy that starves every device is reported, not waited on forever");
                SchedulingPolicy reckless = policy("reckless", (view, device) -> {
                    for (int t = view.graph().size() - 1; t >= 0; t--) {
                        if (!view.isStarted(t) && view.costs().allowed(t, device)) {
                            return t;
                        }
                    }
                    return SchedulingPolicy.IDLE;
                });
                assertThrows(IllegalStateException.class, () -> engine.run(request.withPolicy(reckless)),
                        "a task whose dependencies have not finished is refused");
                // The engine is still usable after a policy failed.
                assertArrayEquals(inOrder, engine.run(request.withPolicy(Policies.byName("in-order"))).lastLogits());
            }
        }
    }

    /** Nanoseconds during which a shadow task on the CPU and an INT8 task on the NPU ran at once. */
    private static long shadowOverlapNanos(ForwardPass.Result run) {
        RunTrace t = run.trace();
        long total = 0;
        for (int a = 0; a < t.graph().size(); a++) {
            if (t.devices().get(t.device()[a]).kind() != DeviceKind.NPU) {
                continue;
            }
            for (int b = 0; b < t.graph().size(); b++) {
                boolean shadow = run.dag().piece(b).segment().graph().ops().stream().anyMatch(op -> op instanceof Op.OutlierShadow);
                if (shadow && t.devices().get(t.device()[b]).kind() == DeviceKind.CPU) {
                    total += Math.max(0, Math.min(t.finish()[a], t.finish()[b]) - Math.max(t.begin()[a], t.begin()[b]));
                }
            }
        }
        return total;
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

    /**
     * Only attention (the segment that writes the KV cache) waits for another chunk, the same segment of
     * the chunk before; INT8 linears sit on the NPU, everything else on the CPU.
     */
    private static void assertDagShape(ChunkDag dag, int layers) {
        TaskGraph g = dag.graph();
        int attentions = 0;
        for (int t = 0; t < g.size(); t++) {
            Task task = g.task(t);
            ChunkDag.Piece piece = dag.piece(t);
            boolean attention = piece.segment().graph().ops().stream().anyMatch(op -> op instanceof Op.Attention);
            boolean int8 = piece.segment().graph().ops().stream().allMatch(op -> op instanceof Op.QuantizedLinear);
            assertEquals(int8 ? DeviceKind.NPU : DeviceKind.CPU, dag.processors().get(dag.device(t)).kind(), task.describe());
            int crossChunk = 0;
            for (int p : g.predecessors(t)) {
                Task before = g.task(p);
                if (before.chunk() != task.chunk()) {
                    assertTrue(attention, "only attention waits for another chunk: " + task.describe());
                    assertEquals(task.chunk() - 1, before.chunk());
                    assertEquals(piece.segment().index(), dag.piece(p).segment().index());
                    crossChunk++;
                }
            }
            if (attention) {
                attentions++;
                assertEquals(task.chunk() == 0 ? 0 : 1, crossChunk, task.describe());
            }
        }
        assertEquals(layers * dag.chunks(), attentions);
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
