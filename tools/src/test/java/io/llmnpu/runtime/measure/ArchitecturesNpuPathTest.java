package io.llmnpu.runtime.measure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.tensor.Int8Weights;
import io.llmnpu.runtime.model.ProgressListener;
import io.llmnpu.runtime.engine.ChunkPlanner;
import io.llmnpu.runtime.engine.DevicePlan;
import io.llmnpu.runtime.engine.ForwardPass;
import io.llmnpu.runtime.engine.KvCache;
import io.llmnpu.runtime.graph.Architectures;
import io.llmnpu.runtime.graph.ModelGraphBuilder;
import io.llmnpu.runtime.model.load.LoadedModel;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.load.ModelLoader;
import io.llmnpu.runtime.quant.CalibrationData;
import io.llmnpu.runtime.quant.Int8WeightStore;
import io.llmnpu.runtime.quant.NpuRewrite;
import io.llmnpu.runtime.quant.QuantConfig;
import io.llmnpu.runtime.quant.QuantMode;
import io.llmnpu.runtime.quant.QuantTestRig;
import io.llmnpu.runtime.reference.LlamaCppCases;
import java.util.Locale;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The NPU path is a rewrite of the float graph an architecture builds, so every architecture reaches the
 * NPU with no code of its own: for each family's reference model, every linear layer of the body becomes an
 * INT8 {@code QuantizedLinear} (biases, GeGLU, parallel blocks, soft caps and sliding windows stay float ops
 * around it), a calibrated prefill through the reference NPU runs, and its next-token logits stay close to the
 * float prefill's on the CPU.
 */
class ArchitecturesNpuPathTest {

    @ParameterizedTest
    @ValueSource(strings = {"llama-spm.gguf", "llama3-bpe.gguf", "qwen2.gguf", "gemma.gguf", "gemma2.gguf",
            "phi2.gguf", "phi3.gguf"})
    void calibratedPrefillOnTheReferenceNpuStaysCloseToFloat(String file) throws Exception {
        LlamaCppCases reference = LlamaCppCases.of(file).getFirst();
        int cacheRows = 64;
        try (LoadedModel model = ModelLoader.load(reference.path(), null, ProgressListener.none());
             QuantTestRig rig = new QuantTestRig(null);
             Int8WeightStore store = new Int8WeightStore();
             KvCache floatCache = new KvCache(model.config(), cacheRows);
             KvCache npuCache = new KvCache(model.config(), cacheRows)) {
            ModelConfig config = model.config();
            int[] prompt = reference.promptIds();
            assertTrue(prompt.length > 1, "a prompt of several tokens runs as prefill");
            CalibrationData calibration = new Calibrator(config, model.weights(), rig.cpu(), Calibrator.Options.DEFAULTS)
                    .run(QuantTestRig.randomSequences(4, 48, config.vocabSize(), 3), file, 0, "random",
                            ProgressListener.none());
            NpuRewrite rewrite = new NpuRewrite(config, model.weights(), calibration,
                    QuantConfig.of(QuantMode.SHADOW).withWeights(Int8Weights.Granularity.PER_OUTPUT_CHANNEL), store);

            ModelGraphBuilder graphs = Architectures.graphs(config, model.weights());
            Subgraph body = graphs.body(16, cacheRows);
            Subgraph rewritten = rewrite.rewrite(body);
            assertEquals(count(body, Op.Linear.class), count(rewritten, Op.QuantizedLinear.class),
                    "every linear layer of the " + config.architecture() + " body runs in INT8");
            assertEquals(0, count(rewritten, Op.Linear.class), "no float linear is left in the body");

            float[] floats;
            try (ForwardPass pass = new ForwardPass(config, graphs, DevicePlan.of(rig.cpu()), new ChunkPlanner(16),
                    cacheRows, null, null)) {
                floats = pass.run(ForwardPass.Request.of(floatCache, prompt, 0)).lastLogits();
            }
            ForwardPass.Result npu;
            try (ForwardPass pass = new ForwardPass(config, graphs, rig.plan(), new ChunkPlanner(16), cacheRows,
                    new ForwardPass.NpuPath(rewrite, null), null)) {
                npu = pass.run(ForwardPass.Request.of(npuCache, prompt, 0));
            }
            assertTrue(npu.usedNpu(), "the prompt ran on the NPU path: " + npu.path());
            int npuDevice = npu.trace().firstOfKind(io.llmnpu.api.backend.DeviceKind.NPU);
            assertTrue(npuDevice >= 0 && npu.trace().busySeconds(npuDevice) > 0, "the NPU did work");
            float[] quantized = npu.lastLogits();
            double cosine = cosine(floats, quantized);
            int top = argmax(floats);
            int rank = rank(quantized, top);
            System.out.printf(Locale.ROOT, "%-16s %-8s linears %3d  cosine %.5f  float top-1 %d has rank %d on the NPU path"
                            + " (NPU top-1 %d)%n", file, config.architecture(), count(body, Op.Linear.class), cosine,
                    top, rank, argmax(quantized));
            assertTrue(cosine > 0.99, String.format(Locale.ROOT, "logits cosine %.5f", cosine));
            assertTrue(rank < 2, "float top-1 token " + top + " is ranked " + rank + " on the NPU path");
        }
    }

    private static long count(Subgraph g, Class<? extends Op> kind) {
        return g.ops().stream().filter(kind::isInstance).count();
    }

    private static double cosine(float[] a, float[] b) {
        double ab = 0;
        double aa = 0;
        double bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += (double) a[i] * b[i];
            aa += (double) a[i] * a[i];
            bb += (double) b[i] * b[i];
        }
        return ab / Math.sqrt(aa * bb);
    }

    private static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }

    /** How many logits beat token {@code t}'s. */
    private static int rank(float[] x, int t) {
        int r = 0;
        for (float v : x) {
            if (v > x[t]) {
                r++;
            }
        }
        return r;
    }
}
