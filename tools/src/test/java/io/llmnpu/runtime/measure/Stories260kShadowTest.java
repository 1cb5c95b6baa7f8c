package io.llmnpu.runtime.measure;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.runtime.quant.CalibrationData;
import io.llmnpu.runtime.quant.ParagraphChunker;
import io.llmnpu.runtime.quant.QuantConfig;
import io.llmnpu.runtime.quant.QuantMode;
import io.llmnpu.runtime.quant.QuantTestRig;
import io.llmnpu.runtime.quant.SharedText;
import io.llmnpu.runtime.model.ProgressListener;
import io.llmnpu.runtime.model.load.LoadedModel;
import io.llmnpu.runtime.model.load.ModelLoader;
import io.llmnpu.runtime.model.SharedModels;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * stories260K calibrated on TinyStories calibration text and scored on the evaluation text (a few
 * paragraph groups, to stay fast): W8A8 with shadow outliers keeps perplexity within 2% of FP32 and
 * tracks FP32 more closely than naive W8A8.
 */
class Stories260kShadowTest {

    @TempDir
    Path dir;

    @Test
    void shadowKeepsPerplexityWithinTwoPercent() throws Exception {
        Path modelFile = SharedModels.file("stories260K.gguf");
        String calibText = SharedText.read("tinystories-calib.txt");
        String evalText = SharedText.read("tinystories-eval.txt");
        try (LoadedModel model = ModelLoader.load(modelFile, null, ProgressListener.none());
             QuantTestRig rig = new QuantTestRig(dir.resolve("npu-cache"))) {
            List<int[]> calibration = ParagraphChunker.DEFAULT.sequences(calibText, model.tokenizer(), 16);
            CalibrationData data = new Calibrator(model.config(), model.weights(), rig.cpu(), Calibrator.Options.DEFAULTS)
                    .run(calibration, "stories260K.gguf", 0, "tinystories-calib.txt", ProgressListener.none());
            List<int[]> eval = ParagraphChunker.DEFAULT.sequences(evalText, model.tokenizer(), 6);
            List<QuantConfig> configs = List.of(QuantConfig.of(QuantMode.NAIVE), QuantConfig.of(QuantMode.SHADOW));
            QuantEvaluator.Result r = new QuantEvaluator(model.config(), model.weights(), data, rig.plan(), null)
                    .evaluate(eval, configs, ProgressListener.none());
            System.out.print(EvalReport.table(r));
            double fp32 = r.fp32().perplexity();
            QuantEvaluator.ModeResult naive = r.mode(QuantMode.NAIVE);
            QuantEvaluator.ModeResult shadow = r.mode(QuantMode.SHADOW);
            assertTrue(fp32 > 2 && fp32 < 8, "FP32 perplexity of stories260K on TinyStories is about 4: " + fp32);
            assertTrue(Math.abs(shadow.perplexity() / fp32 - 1) < 0.02, String.format(Locale.ROOT,
                    "shadow perplexity %.4f within 2%% of FP32 %.4f", shadow.perplexity(), fp32));
            assertTrue(shadow.meanKl() < naive.meanKl(), "shadow diverges less from FP32 than naive");
            assertTrue(shadow.top1Agreement() > naive.top1Agreement(), "shadow agrees with FP32 more often than naive");
            assertTrue(shadow.top1Agreement() > 0.9, "shadow top-1 agreement " + shadow.top1Agreement());
        }
    }
}
