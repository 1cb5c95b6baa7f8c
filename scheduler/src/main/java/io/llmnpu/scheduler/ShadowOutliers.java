package io.llmnpu.scheduler;

/**
 * Which layers run llm.npu's shadow outlier tasks and how big those are. The NPU multiplies the
 * clipped INT8 activations; a CPU/GPU task multiplies the few outlier channels the clip removed,
 * in float, at the same time, and the two results are added.
 *
 * <p>Which layers keep the shadow path is decided by calibration (layers whose outliers matter
 * least are pruned; the paper keeps about 15%). For scheduling only how many there are and where
 * they sit matters, so the kept layers are spread evenly over the depth.
 *
 * @param layerFraction   share of layers that keep the shadow path, 0 (none) to 1 (all)
 * @param outlierChannels outlier input channels per linear layer input (the paper sees 5-15)
 */
public record ShadowOutliers(double layerFraction, int outlierChannels) {

    /** Outlier channels per linear input in the middle of the range the paper reports. */
    public static final int TYPICAL_OUTLIER_CHANNELS = 10;

    public ShadowOutliers {
        if (!(layerFraction >= 0 && layerFraction <= 1)) {
            throw new IllegalArgumentException("shadow layer fraction must be in [0, 1], got " + layerFraction);
        }
        if (outlierChannels < 0) {
            throw new IllegalArgumentException("outlier channels must not be negative, got " + outlierChannels);
        }
    }

    /** No shadow tasks: plain per-tensor INT8. */
    public static ShadowOutliers none() {
        return new ShadowOutliers(0, 0);
    }

    /** Shadow tasks in every layer. */
    public static ShadowOutliers allLayers(int outlierChannels) {
        return new ShadowOutliers(1, outlierChannels);
    }

    /** The paper's setting: 85% of layers pruned, 15% keep the shadow path. */
    public static ShadowOutliers paperDefault() {
        return new ShadowOutliers(0.15, TYPICAL_OUTLIER_CHANNELS);
    }

    /** Number of layers out of {@code layers} that keep the shadow path. */
    public int keptLayers(int layers) {
        return outlierChannels == 0 ? 0 : (int) Math.round(layerFraction * layers);
    }

    /** Whether {@code layer} (of {@code layers}) keeps the shadow path; kept layers are spread evenly. */
    public boolean covers(int layer, int layers) {
        int kept = keptLayers(layers);
        // Layer l is kept when the running count floor((l+1)k/L) steps up at l: exactly k layers, evenly spaced.
        return (long) (layer + 1) * kept / layers > (long) layer * kept / layers;
    }
}
