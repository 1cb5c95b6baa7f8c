package io.llmnpu.runtime.measure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.backend.cpu.CpuBackendProvider;
import io.llmnpu.backend.npu.reference.ReferenceNpuProvider;
import io.llmnpu.runtime.model.ProgressListener;
import io.llmnpu.runtime.engine.DevicePlan;
import io.llmnpu.runtime.model.load.LoadedModel;
import io.llmnpu.runtime.model.load.ModelLoader;
import io.llmnpu.runtime.model.SharedModels;
import io.llmnpu.runtime.quant.CalibrationData;
import io.llmnpu.runtime.quant.ParagraphChunker;
import io.llmnpu.runtime.quant.QuantConfig;
import io.llmnpu.runtime.quant.QuantMode;
import io.llmnpu.runtime.quant.SharedText;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * What a user of {@code generate} gets from the NPU path: stories260K calibrated on the TinyStories
 * calibration text, the first 200 paragraphs of the evaluation text as prompts, the next token after each
 * with NPU prefill (INT8 linears on the reference NPU, as generate runs them: per-channel weight scales,
 * chunks of 256) against float prefill. W8A8 with shadow outliers agrees on the greedy token for at least
 * 97% of the prompts, with a mean KL divergence of the next-token distribution of at most 0.01; the pruned
 * configuration (shadows at the 15% most important sites) is reported and held to looser bounds.
 */
class PromptQualityTest {
    /** Percentile of |x| the clipped scales map to 127; the shadows take what lies beyond. */
    static final double PERCENTILE = 95.0;
    static final int PROMPTS = 200;

    @Test
    void npuPrefillAgreesWithFloatPrefillOnTheNextToken() throws Exception {
        try (LoadedModel model = ModelLoader.load(SharedModels.file("stories260K.gguf"), null, ProgressListener.none());
             Backend cpuBackend = new CpuBackendProvider().create(new BackendOptions(1));
             Backend npuBackend = new ReferenceNpuProvider().create(new BackendOptions(1))) {
            long t0 = System.nanoTime();
            CalibrationData calibration = new Calibrator(model.config(), model.weights(), cpuBackend.devices().getFirst(),
                    new Calibrator.Options(PERCENTILE, 0.8, 0.05)).run(ParagraphChunker.DEFAULT.sequences(
                            SharedText.read("tinystories-calib.txt"), model.tokenizer(), 0), "stories260K.gguf", 0,
                    "tinystories-calib.txt", ProgressListener.none());
            double calibrationSeconds = (System.nanoTime() - t0) * 1e-9;
            List<int[]> prompts = new ArrayList<>();
            for (String p : ParagraphChunker.paragraphs(SharedText.read("tinystories-eval.txt"))) {
                if (prompts.size() == PROMPTS) {
                    break;
                }
                prompts.add(model.tokenizer().encode(p, true));
            }
            assertEquals(PROMPTS, prompts.size());
            long t1 = System.nanoTime();
            List<QuantEvaluator.PromptResult> results = new QuantEvaluator(model.config(), model.weights(), calibration,
                    DevicePlan.of(npuBackend.devices().getFirst(), cpuBackend.devices().getFirst()), null)
                    .evaluatePrompts(prompts, List.of(QuantConfig.npuPath(QuantMode.SHADOW),
                            QuantConfig.npuPath(QuantMode.SHADOW_PRUNED)), 256, ProgressListener.none());
            System.out.printf(Locale.ROOT, "calibration %.1f s, %d prompts x 3 prefills %.1f s%n", calibrationSeconds,
                    PROMPTS, (System.nanoTime() - t1) * 1e-9);
            for (QuantEvaluator.PromptResult r : results) {
                System.out.printf(Locale.ROOT, "%-24s agreement %.2f%% (%d close calls among the misses), mean KL %.5f, max KL %.5f%n",
                        r.config().mode().label(), 100 * r.agreement(), r.closeCalls(), r.meanKl(), r.maxKl());
            }
            QuantEvaluator.PromptResult shadow = results.get(0);
            QuantEvaluator.PromptResult pruned = results.get(1);
            assertTrue(shadow.agreement() >= 0.97, "greedy first-token agreement " + shadow.agreement());
            assertTrue(shadow.meanKl() <= 0.01, "mean KL " + shadow.meanKl());
            assertTrue(pruned.agreement() >= 0.90 && pruned.meanKl() <= 0.02,
                    "pruned shadows: agreement " + pruned.agreement() + ", KL " + pruned.meanKl());
        }
    }
}
