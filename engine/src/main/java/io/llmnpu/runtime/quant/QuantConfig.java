package io.llmnpu.runtime.quant;

import io.llmnpu.api.tensor.Int8Weights;

/**
 * A quantized configuration of the linear layers.
 *
 * @param mode             how activations are quantized and which outliers are shadowed
 * @param weights          INT8 weight scales per tensor or per output channel
 * @param shadowFraction   with {@link QuantMode#SHADOW_PRUNED}: the share of sites (most important
 *                         first) that keep their shadow
 * @param requantizeOutputs whether the NPU hands outputs on as INT16 with calibrated scales (saturating;
 *                         shadowed sites recompute saturated outputs in float) instead of dequantizing
 *                         INT32 accumulators directly
 */
public record QuantConfig(QuantMode mode, Int8Weights.Granularity weights, double shadowFraction,
                          boolean requantizeOutputs) {

    public static final double DEFAULT_SHADOW_FRACTION = 0.15;

    public QuantConfig {
        if (!(shadowFraction >= 0 && shadowFraction <= 1)) {
            throw new IllegalArgumentException("shadow fraction must be in [0, 1], got " + shadowFraction);
        }
    }

    public static QuantConfig of(QuantMode mode) {
        return new QuantConfig(mode, Int8Weights.Granularity.PER_TENSOR, DEFAULT_SHADOW_FRACTION, true);
    }

    /**
     * The configuration prompts run with on an NPU: INT8 weights with one scale per output channel (which
     * NPU SDKs support for weights) and per-tensor static activation scales.
     */
    public static QuantConfig npuPath(QuantMode mode) {
        return of(mode).withWeights(Int8Weights.Granularity.PER_OUTPUT_CHANNEL);
    }

    public QuantConfig withWeights(Int8Weights.Granularity g) {
        return new QuantConfig(mode, g, shadowFraction, requantizeOutputs);
    }

    public QuantConfig withShadowFraction(double f) {
        return new QuantConfig(mode, weights, f, requantizeOutputs);
    }

    public QuantConfig withRequantizedOutputs(boolean on) {
        return new QuantConfig(mode, weights, shadowFraction, on);
    }
}
