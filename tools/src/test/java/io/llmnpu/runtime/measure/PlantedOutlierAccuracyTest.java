package io.llmnpu.runtime.measure;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.runtime.quant.CalibrationData;
import io.llmnpu.runtime.quant.LinearSite;
import io.llmnpu.runtime.quant.PlantedOutlierModel;
import io.llmnpu.runtime.quant.QuantConfig;
import io.llmnpu.runtime.quant.QuantMode;
import io.llmnpu.runtime.quant.QuantTestRig;
import io.llmnpu.runtime.quant.SiteCalibration;
import io.llmnpu.runtime.model.ProgressListener;
import io.llmnpu.runtime.model.load.LoadedModel;
import io.llmnpu.runtime.model.load.ModelLoader;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On a model whose residual stream carries planted outliers, naive per-tensor W8A8 loses clearly while
 * W8A8 with shadow outliers stays within 1% top-1 agreement of FP32.
 */
class PlantedOutlierAccuracyTest {

    @TempDir
    Path dir;

    @Test
    void shadowOutliersRecoverWhatNaiveW8A8Loses() throws Exception {
        PlantedOutlierModel spec = PlantedOutlierModel.small(2, 40f);
        Path file = spec.write(dir.resolve("planted.gguf"));
        try (LoadedModel model = ModelLoader.load(file, null, ProgressListener.none());
             QuantTestRig rig = new QuantTestRig(dir.resolve("npu-cache"))) {
            List<int[]> calibrationText = spec.bigramSequences(12, 128, 0.8, 1);
            CalibrationData calibration = new Calibrator(model.config(), model.weights(), rig.cpu(),
                    Calibrator.Options.DEFAULTS).run(calibrationText, "planted.gguf", 0, "random", ProgressListener.none());

            int[] planted = spec.plantedHiddenChannels().clone();
            java.util.Arrays.sort(planted);
            SiteCalibration down = calibration.site(1, LinearSite.DOWN);
            int[] busiest = down.channels().stream().limit(planted.length)
                    .mapToInt(SiteCalibration.ChannelOutliers::channel).sorted().toArray();
            assertArrayEquals(planted, busiest, "the planted hidden channels produce the most outliers");
            for (int c : planted) {
                assertTrue(java.util.Arrays.stream(down.hotChannels()).anyMatch(h -> h == c), "planted channel " + c + " is hot");
            }
            assertTrue(down.importance() > 127 * 50, "planted outliers reach far beyond the clipped range: "
                    + down.importance() / 127 + " x the clip value");
            // Per-channel weight scales: the planted gate/up weights are outliers of their own, which per-tensor
            // weight scales would turn into weight noise; this test is about the activations.
            List<QuantConfig> configs = java.util.stream.Stream.of(QuantMode.NAIVE, QuantMode.CLIPPED, QuantMode.SHADOW)
                    .map(m -> QuantConfig.of(m).withWeights(io.llmnpu.api.tensor.Int8Weights.Granularity.PER_OUTPUT_CHANNEL))
                    .toList();
            QuantEvaluator.Result r = new QuantEvaluator(model.config(), model.weights(), calibration, rig.plan(), null)
                    .evaluate(spec.bigramSequences(8, 160, 0.8, 2), configs, ProgressListener.none());
            System.out.print(EvalReport.table(r));
            QuantEvaluator.ModeResult naive = r.mode(QuantMode.NAIVE);
            QuantEvaluator.ModeResult shadow = r.mode(QuantMode.SHADOW);
            assertTrue(naive.top1Agreement() < 0.95, "naive W8A8 degrades: top-1 " + naive.top1Agreement());
            assertTrue(shadow.top1Agreement() >= 0.99, "shadow stays within 1% of FP32: top-1 " + shadow.top1Agreement());
            assertTrue(shadow.top1Agreement() - naive.top1Agreement() > 0.04, "a clear margin in top-1");
            assertTrue(naive.meanKl() > 10 * shadow.meanKl(), String.format(Locale.ROOT, "KL naive %.5f vs shadow %.5f",
                    naive.meanKl(), shadow.meanKl()));
            assertEquals(8 * 159, shadow.predictions());
            double fp32 = r.fp32().perplexity();
            assertTrue(fp32 < 20, "the model predicts text that follows its bigrams well: perplexity " + fp32);
            assertTrue(naive.perplexity() > 10 * fp32, "naive W8A8 loses the predictions: perplexity " + naive.perplexity());
            assertTrue(Math.abs(shadow.perplexity() / fp32 - 1) < 0.01, "shadow keeps perplexity within 1%");
        }
    }
}
