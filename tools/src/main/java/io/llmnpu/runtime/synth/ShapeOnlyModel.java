package io.llmnpu.runtime.synth;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.LayerWeights;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelWeights;
import io.llmnpu.runtime.quant.CalibrationData;
import io.llmnpu.runtime.quant.LinearLayer;
import io.llmnpu.runtime.quant.LinearSite;
import io.llmnpu.runtime.quant.SiteCalibration;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * A model that exists only as shapes, for planning and simulation: weights are tensors of the right
 * dtype and shape over memory that is never read (so graphs of a 7B model cost nothing to build), and a
 * made-up calibration gives every linear site a scale, ten hot channels, and an importance that spreads
 * the sites a pruned shadow keeps evenly over the depth.
 *
 * @param config  the model's hyper-parameters
 * @param weights shape-only weights; never run them
 */
public record ShapeOnlyModel(ModelConfig config, ModelWeights weights) {

    /** Hot channels per site: the middle of the 5-15 outlier channels llm.npu reports. */
    public static final int HOT_CHANNELS = 10;

    /** {@code shape} with every matrix in {@code dtype} (norms in F32). */
    public static ShapeOnlyModel of(ModelShape shape, DType dtype) {
        ModelConfig c = shape.toConfig();
        List<LayerWeights> layers = new ArrayList<>();
        for (int l = 0; l < c.layers(); l++) {
            String p = "blk." + l + ".";
            layers.add(new LayerWeights(vector(p + "attn_norm", c.dim()),
                    matrix(p + "attn_q", dtype, c.qDim(), c.dim()), matrix(p + "attn_k", dtype, c.kvDim(), c.dim()),
                    matrix(p + "attn_v", dtype, c.kvDim(), c.dim()), matrix(p + "attn_output", dtype, c.dim(), c.qDim()),
                    vector(p + "ffn_norm", c.dim()), matrix(p + "ffn_gate", dtype, c.hiddenDim(), c.dim()),
                    matrix(p + "ffn_down", dtype, c.dim(), c.hiddenDim()), matrix(p + "ffn_up", dtype, c.hiddenDim(), c.dim())));
        }
        Tensor embedding = matrix("token_embd", dtype, c.vocabSize(), c.dim());
        Tensor output = shape.tiedOutput() ? embedding : matrix("output", dtype, c.vocabSize(), c.dim());
        return new ShapeOnlyModel(c, new ModelWeights(embedding, layers, vector("output_norm", c.dim()), output));
    }

    /** A calibration of the right shape: scale 0.01 per value, hot channels 0..9, importance spread over depth. */
    public CalibrationData calibration() {
        List<CalibrationData.Layer> layers = new ArrayList<>();
        int sites = LinearSite.values().length;
        for (int l = 0; l < config.layers(); l++) {
            Map<LinearSite, SiteCalibration> byKind = new EnumMap<>(LinearSite.class);
            for (LinearSite s : LinearSite.values()) {
                // A golden-ratio sequence: whatever share of sites a pruned shadow keeps, they sit evenly spread.
                double spread = ((l * sites + s.ordinal()) * 0.6180339887) % 1.0;
                float clip = 1.27f;
                float absMax = (float) (clip * (2 + 8 * spread));
                int[] hot = new int[HOT_CHANNELS];
                List<SiteCalibration.ChannelOutliers> channels = new ArrayList<>();
                for (int h = 0; h < HOT_CHANNELS; h++) {
                    hot[h] = h;
                    channels.add(new SiteCalibration.ChannelOutliers(h, 10, absMax));
                }
                byKind.put(s, new SiteCalibration(1000, absMax, clip, 10L * HOT_CHANNELS, hot, channels));
            }
            Map<LinearLayer, Float> outputs = new EnumMap<>(LinearLayer.class);
            for (LinearLayer ll : LinearLayer.values()) {
                outputs.put(ll, 100f);
            }
            layers.add(new CalibrationData.Layer(byKind, outputs));
        }
        return new CalibrationData("shape-only", 0, config.dim(), "made up", 0, 0, 99.9, layers);
    }

    private static Tensor matrix(String name, DType dtype, int rows, int cols) {
        Shape s = Shape.of(rows, cols);
        return new Tensor(name + ".weight", dtype, s, MemorySegment.NULL.reinterpret(dtype.byteSize(s.elements())));
    }

    private static Tensor vector(String name, int n) {
        return new Tensor(name + ".weight", DType.F32, Shape.of(n), MemorySegment.NULL.reinterpret(4L * n));
    }
}
