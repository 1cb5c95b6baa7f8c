package io.llmnpu.runtime.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Dequantizer;
import io.llmnpu.api.tensor.Int8Weights;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.ProgressListener;
import io.llmnpu.runtime.measure.Calibrator;
import io.llmnpu.runtime.measure.EvalReport;
import io.llmnpu.runtime.measure.QuantEvaluator;
import io.llmnpu.runtime.model.load.LoadedModel;
import io.llmnpu.runtime.model.load.ModelLoader;
import io.llmnpu.runtime.synth.SyntheticModels;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The NPU path runs models whose weights are k-quants: their matrices are dequantized and packed to
 * INT8 like any float matrix, and W8A8 with shadow outliers on the reference NPU stays close to the
 * model's own float forward pass (which multiplies the k-quant weights directly).
 */
class KQuantNpuPathTest {

    @TempDir
    Path dir;

    @Test
    void q4KMModelRunsOnTheReferenceNpuCloseToItsFloatPass() throws Exception {
        Path file = SyntheticModels.write(dir, "wide-q4_k_m.gguf", SyntheticModels.wideGqa(), QuantRecipe.Q4_K_M, 5);
        try (LoadedModel model = ModelLoader.load(file, null, ProgressListener.none());
             QuantTestRig rig = new QuantTestRig(dir.resolve("npu-cache"));
             Arena arena = Arena.ofConfined()) {
            Tensor wq = model.weights().layers().getFirst().wq();
            Tensor wv = model.weights().layers().get(1).wv();
            assertEquals(DType.Q4_K, wq.dtype());
            assertEquals(DType.Q6_K, wv.dtype(), "the mix puts attn_v of layer 1 of 2 in Q6_K");
            for (Tensor w : List.of(wq, wv)) {
                Int8Weights packed = WeightQuantizer.quantize(w, Int8Weights.Granularity.PER_OUTPUT_CHANNEL, arena);
                int cols = w.shape().dim(1);
                float[] values = Dequantizer.dequantize(w.dtype(), w.data(), Math.toIntExact(w.shape().elements()));
                for (int r = 0; r < w.shape().dim(0); r += 17) {
                    for (int c = 0; c < cols; c += 5) {
                        int code = (int) Math.max(-127, Math.min(127, Math.rint(values[r * cols + c] / packed.scale(r))));
                        assertEquals(code, (int) packed.data().get(ValueLayout.JAVA_BYTE, (long) r * cols + c), w + " [" + r + ", " + c + "]");
                    }
                }
            }

            int vocab = model.config().vocabSize();
            CalibrationData calibration = new Calibrator(model.config(), model.weights(), rig.cpu(),
                    Calibrator.Options.DEFAULTS).run(QuantTestRig.randomSequences(4, 96, vocab, 1), "wide-q4_k_m", 0,
                    "random", ProgressListener.none());
            List<QuantConfig> configs = List.of(QuantConfig.of(QuantMode.SHADOW)
                    .withWeights(Int8Weights.Granularity.PER_OUTPUT_CHANNEL));
            QuantEvaluator.Result r = new QuantEvaluator(model.config(), model.weights(), calibration, rig.plan(), null)
                    .evaluate(QuantTestRig.randomSequences(4, 96, vocab, 2), configs, ProgressListener.none());
            System.out.print(EvalReport.table(r));
            QuantEvaluator.ModeResult shadow = r.mode(QuantMode.SHADOW);
            assertTrue(shadow.top1Agreement() >= 0.9, String.format(Locale.ROOT, "top-1 agreement %.4f", shadow.top1Agreement()));
            assertTrue(shadow.meanKl() < 0.01, String.format(Locale.ROOT, "mean KL %.5f", shadow.meanKl()));
            assertTrue(shadow.meanKl() > 0, "INT8 execution cannot match the float pass exactly; the comparison is vacuous");
        }
    }
}
