package io.llmnpu.runtime.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.api.ProgressListener;
import io.llmnpu.runtime.engine.ExecutionTrace;
import io.llmnpu.runtime.engine.HybridGraph;
import io.llmnpu.runtime.engine.HybridRunner;
import io.llmnpu.runtime.engine.KvCache;
import io.llmnpu.runtime.graph.Architectures;
import io.llmnpu.runtime.graph.ModelGraphBuilder;
import io.llmnpu.runtime.model.LoadedModel;
import io.llmnpu.runtime.model.ModelLoader;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The NPU parts and the CPU shadow parts of a quantized graph run at the same time on different
 * threads (seen in the execution trace), and running them concurrently gives exactly what running
 * them one after the other gives.
 */
class ShadowOverlapTest {

    @TempDir
    Path dir;

    @Test
    void npuAndShadowRunConcurrentlyAndAgreeWithSequentialRuns() throws Exception {
        PlantedOutlierModel spec = new PlantedOutlierModel(256, 768, 2, 8, 4, 256, 2, 40f, 0.02, 99);
        Path file = spec.write(dir.resolve("planted.gguf"));
        int rows = 256;
        try (LoadedModel model = ModelLoader.load(file, null, ProgressListener.none());
             QuantTestRig rig = new QuantTestRig(null);
             Int8WeightStore store = new Int8WeightStore();
             Arena arena = Arena.ofShared();
             KvCache cache = new KvCache(model.config(), rows)) {
            CalibrationData calibration = new Calibrator(model.config(), model.weights(), rig.cpu(),
                    Calibrator.Options.DEFAULTS).run(spec.bigramSequences(4, rows, 0.8, 5), "planted", 0, "bigrams",
                    ProgressListener.none());
            QuantPlan plan = QuantPlan.create(model.config(), model.weights(), calibration, QuantConfig.of(QuantMode.SHADOW),
                    store);
            HybridGraph graph = new QuantizedGraphBuilder(model.config(), model.weights(), plan).body(rows, rows);
            long shadowStages = graph.stages().stream().filter(s -> s.npu() != null && s.cpu() != null).count();
            assertEquals(4L * model.config().layers(), shadowStages, "every linear site has an NPU and a CPU part");

            List<String> external = new ArrayList<>();
            Map<String, Tensor> caches = new HashMap<>();
            for (int l = 0; l < model.config().layers(); l++) {
                external.add(ModelGraphBuilder.keyCacheName(l));
                external.add(ModelGraphBuilder.valueCacheName(l));
                caches.put(ModelGraphBuilder.keyCacheName(l), cache.keys(l));
                caches.put(ModelGraphBuilder.valueCacheName(l), cache.values(l));
            }
            int[] tokens = spec.bigramSequences(1, rows, 0.8, 6).getFirst();
            ExecutionTrace trace = new ExecutionTrace();
            ExecutorService npuThread = Executors.newSingleThreadExecutor(Thread.ofPlatform().name("npu-driver").factory());
            float[] concurrent;
            float[] sequential;
            try (HybridRunner parallel = new HybridRunner(graph, rig.npu(), rig.cpu(), arena, external, npuThread, trace);
                 HybridRunner serial = new HybridRunner(graph, rig.npu(), rig.cpu(), arena, external, null, null)) {
                for (int repeat = 0; repeat < 5; repeat++) {
                    fill(parallel, tokens);
                    parallel.run(caches);
                }
                concurrent = parallel.tensor(ModelGraphBuilder.HIDDEN).toFloatArray();
                fill(serial, tokens);
                serial.run(caches);
                sequential = serial.tensor(ModelGraphBuilder.HIDDEN).toFloatArray();
            } finally {
                npuThread.shutdownNow();
            }
            assertArrayEquals(sequential, concurrent, "concurrent and sequential runs compute the same");

            List<ExecutionTrace.Interval> intervals = trace.intervals();
            String testThread = Thread.currentThread().getName();
            assertTrue(intervals.stream().filter(i -> i.device().equals("npu")).allMatch(i -> i.thread().equals("npu-driver")));
            assertTrue(intervals.stream().filter(i -> i.device().equals("cpu")).allMatch(i -> i.thread().equals(testThread)));
            long overlappingStages = intervals.stream().filter(a -> a.device().equals("npu")).filter(a ->
                    intervals.stream().anyMatch(b -> b.device().equals("cpu") && b.stage().equals(a.stage())
                            && b.startNanos() < a.endNanos() && a.startNanos() < b.endNanos())).count();
            System.out.printf("%d of %d NPU parts overlapped their shadow; %.2f ms of overlap%n", overlappingStages,
                    5 * shadowStages, trace.overlapNanos() / 1e6);
            assertTrue(overlappingStages > 0 && trace.overlapNanos() > 0, "NPU and shadow parts ran at the same time");
        }
    }

    private static void fill(HybridRunner runner, int[] tokens) {
        Tensor t = runner.tensor(ModelGraphBuilder.TOKENS);
        Tensor p = runner.tensor(ModelGraphBuilder.POSITIONS);
        for (int i = 0; i < tokens.length; i++) {
            t.setInt(i, tokens[i]);
            p.setInt(i, i);
        }
    }
}
