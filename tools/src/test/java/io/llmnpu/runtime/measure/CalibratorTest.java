package io.llmnpu.runtime.measure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.runtime.quant.CalibrationData;
import io.llmnpu.runtime.quant.LinearLayer;
import io.llmnpu.runtime.quant.LinearSite;
import io.llmnpu.runtime.quant.ParagraphChunker;
import io.llmnpu.runtime.quant.QuantTestRig;
import io.llmnpu.runtime.quant.SharedText;
import io.llmnpu.runtime.quant.SiteCalibration;
import io.llmnpu.runtime.model.ProgressListener;
import io.llmnpu.runtime.model.load.LoadedModel;
import io.llmnpu.runtime.model.load.ModelLoader;
import io.llmnpu.runtime.model.SharedModels;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Calibration observes the right values: the input of layer 0's q/k/v projections is RMSNorm of the
 * token embeddings, which this test computes on its own from the weights (in double precision) for
 * exactly the real tokens (padding rows of the static chunk must not count).
 */
class CalibratorTest {

    @Test
    void firstSiteStatisticsMatchAnIndependentComputation() throws Exception {
        try (LoadedModel model = ModelLoader.load(SharedModels.file("stories260K.gguf"), null, ProgressListener.none());
             QuantTestRig rig = new QuantTestRig(null)) {
            String text = SharedText.read("tinystories-calib.txt");
            // Short sequences (10..40 tokens), so every chunk of 64 rows carries padding.
            List<int[]> sequences = new ArrayList<>();
            for (int[] s : new ParagraphChunker(150, 40).sequences(text, model.tokenizer(), 12)) {
                sequences.add(s);
            }
            List<String> progress = new ArrayList<>();
            CalibrationData data = new Calibrator(model.config(), model.weights(), rig.cpu(),
                    new Calibrator.Options(99.0, 0.8, 0.1)).run(sequences, "stories260K.gguf", 1, "calib",
                    (stage, done, total) -> progress.add(done + "/" + total));

            int dim = model.config().dim();
            float[] embedding = model.weights().tokenEmbedding().toFloatArray();
            float[] norm = model.weights().layers().getFirst().attnNorm().toFloatArray();
            List<Double> values = new ArrayList<>();
            long tokens = 0;
            for (int[] s : sequences) {
                for (int token : s) {
                    double ss = 0;
                    for (int c = 0; c < dim; c++) {
                        double v = embedding[token * dim + c];
                        ss += v * v;
                    }
                    double inv = 1 / Math.sqrt(ss / dim + model.config().rmsEps());
                    for (int c = 0; c < dim; c++) {
                        values.add(Math.abs(embedding[token * dim + c] * inv * norm[c]));
                    }
                    tokens++;
                }
            }
            double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            double rank = 0.99 * (sorted.length - 1);
            int lo = (int) rank;
            double p99 = sorted[lo] + (rank - lo) * (sorted[lo + 1] - sorted[lo]);

            SiteCalibration qkv = data.site(0, LinearSite.QKV);
            assertEquals(tokens, data.tokens());
            assertEquals(tokens * dim, qkv.values(), "only real rows are observed");
            assertEquals(sorted[sorted.length - 1], qkv.absMax(), 1e-4 * sorted[sorted.length - 1]);
            assertEquals(p99, qkv.clipValue(), 1e-4 * p99);
            long outliers = Arrays.stream(sorted).filter(v -> v > qkv.clipValue() * (1 + 1e-5)).count();
            assertTrue(Math.abs(outliers - qkv.outliers()) <= Math.max(2, tokens * dim / 10000),
                    "outliers " + qkv.outliers() + " vs " + outliers);
            for (int l = 0; l < model.config().layers(); l++) {
                for (LinearSite s : LinearSite.values()) {
                    SiteCalibration c = data.site(l, s);
                    assertTrue(c.absMax() >= c.clipValue() && c.clipValue() > 0, l + " " + s);
                }
                for (LinearLayer ll : LinearLayer.values()) {
                    assertTrue(data.layers().get(l).outputAbsMax().get(ll) > 0, l + " " + ll);
                }
            }
            assertEquals(tokens + "/" + tokens, progress.getLast(), "progress ends at all tokens");
        }
    }
}
