package io.llmnpu.runtime.quant;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.tensor.Int8Weights;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.LayerWeights;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelWeights;
import java.util.HashSet;
import java.util.Set;

/**
 * Everything a quantized forward pass needs to know per layer, decided from calibration: each linear
 * layer's INT8 weights and static scales, and which sites keep a shadow with which clip threshold and
 * hot channels.
 */
public final class QuantPlan {

    /**
     * One linear layer on the NPU.
     *
     * @param weights     INT8 weights
     * @param inputScale  static per-tensor activation scale
     * @param outputScale INT16 output scale, 0 for none
     * @param floatWeight the float weights (for the shadow and for recomputing saturated outputs)
     */
    public record Linear(Int8Weights weights, float inputScale, float outputScale, Tensor floatWeight) {
        /** Magnitude at which the NPU output saturates (infinite without requantization). */
        public float saturationLimit() {
            return outputScale == 0 ? Float.POSITIVE_INFINITY : Op.QuantizedLinear.OUTPUT_LIMIT * outputScale;
        }
    }

    /** The shadow of one site: values beyond {@code clipThreshold} go to the CPU. */
    public record Shadow(float clipThreshold, int[] hotChannels) {
        public Shadow {
            hotChannels = hotChannels.clone();
        }

        @Override
        public int[] hotChannels() {
            return hotChannels.clone();
        }
    }

    private final QuantConfig config;
    private final Linear[][] linears;
    private final Shadow[][] shadows;
    private final long hotBytes;
    private final long linearElements;
    private final int shadowSites;

    private QuantPlan(QuantConfig config, Linear[][] linears, Shadow[][] shadows, long hotBytes, long linearElements,
                      int shadowSites) {
        this.config = config;
        this.linears = linears;
        this.shadows = shadows;
        this.hotBytes = hotBytes;
        this.linearElements = linearElements;
        this.shadowSites = shadowSites;
    }

    /**
     * @throws IllegalArgumentException if the calibration was made for a model of another shape, or the mode is FP32
     */
    public static QuantPlan create(ModelConfig model, ModelWeights weights, CalibrationData calibration,
                                   QuantConfig config, Int8WeightStore store) {
        if (!config.mode().quantized()) {
            throw new IllegalArgumentException("FP32 runs without a quantization plan");
        }
        if (calibration.layers().size() != model.layers() || calibration.dim() != model.dim()) {
            throw new IllegalArgumentException("the calibration (" + calibration.layers().size() + " layers, dim "
                    + calibration.dim() + ") belongs to another model (" + model.layers() + " layers, dim " + model.dim()
                    + "); run llmnpu calibrate for this model");
        }
        Set<CalibrationData.SiteRef> shadowed = new HashSet<>();
        for (int l = 0; l < model.layers(); l++) {
            for (LinearSite s : LinearSite.values()) {
                if (config.mode() == QuantMode.SHADOW) {
                    shadowed.add(new CalibrationData.SiteRef(l, s));
                }
            }
        }
        if (config.mode() == QuantMode.SHADOW_PRUNED && config.shadowFraction() > 0) {
            shadowed.addAll(calibration.mostImportant(config.shadowFraction()));
        }
        Linear[][] linears = new Linear[model.layers()][LinearLayer.values().length];
        Shadow[][] shadows = new Shadow[model.layers()][LinearSite.values().length];
        long hotBytes = 0;
        long elements = 0;
        for (int l = 0; l < model.layers(); l++) {
            LayerWeights lw = weights.layers().get(l);
            CalibrationData.Layer cal = calibration.layers().get(l);
            for (LinearSite s : LinearSite.values()) {
                SiteCalibration sc = cal.site(s);
                float scale = config.mode().clipped() ? sc.clipScale() : sc.absMaxScale();
                if (shadowed.contains(new CalibrationData.SiteRef(l, s))) {
                    shadows[l][s.ordinal()] = new Shadow(SiteCalibration.INT8_LIMIT * scale, sc.hotChannels());
                }
            }
            for (LinearLayer ll : LinearLayer.values()) {
                Tensor w = ll.find(lw).orElse(null);
                if (w == null) {
                    continue;           // the family has no such layer (a plain MLP has no gate)
                }
                SiteCalibration sc = cal.site(ll.site());
                // Clip only where a shadow computes what the clip cuts off, or where the mode clips by design;
                // a site whose shadow was pruned keeps its outliers in range with the absmax scale.
                boolean clip = config.mode() == QuantMode.SHADOW_PRUNED
                        ? shadows[l][ll.site().ordinal()] != null : config.mode().clipped();
                float inputScale = clip ? sc.clipScale() : sc.absMaxScale();
                Float outMax = cal.outputAbsMax().get(ll);
                float outputScale = config.requantizeOutputs() && outMax != null && outMax > 0
                        ? outMax / Op.QuantizedLinear.OUTPUT_LIMIT : 0f;
                linears[l][ll.ordinal()] = new Linear(store.get(w, config.weights()), inputScale, outputScale, w);
                elements += w.shape().elements();
                Shadow shadow = shadows[l][ll.site().ordinal()];
                if (shadow != null) {
                    for (int c : shadow.hotChannels) {
                        if (c >= w.shape().dim(1)) {
                            throw new IllegalArgumentException("the calibration names hot channel " + c + " of "
                                    + ll.site().key() + " in layer " + l + ", which has " + w.shape().dim(1)
                                    + " channels; run llmnpu calibrate for this model");
                        }
                    }
                    hotBytes += (long) shadow.hotChannels.length * w.shape().dim(0) * Float.BYTES;
                }
            }
        }
        return new QuantPlan(config, linears, shadows, hotBytes, elements, shadowed.size());
    }

    public QuantConfig config() {
        return config;
    }

    /** The INT8 form of a linear layer, or null when the model's blocks have no such layer. */
    public Linear linear(int layer, LinearLayer which) {
        return linears[layer][which.ordinal()];
    }

    /** The shadow of a site, or null when its outliers just clip. */
    public Shadow shadow(int layer, LinearSite site) {
        return shadows[layer][site.ordinal()];
    }

    /** Sites that keep a shadow. */
    public int shadowSites() {
        return shadowSites;
    }

    /** Bytes of hot-channel weight columns the CPU keeps in compact F32 buffers. */
    public long hotBytes() {
        return hotBytes;
    }

    /** Bytes of all transformer linear weights as F32, what the CPU would hold to shadow everything. */
    public long linearF32Bytes() {
        return linearElements * Float.BYTES;
    }
}
