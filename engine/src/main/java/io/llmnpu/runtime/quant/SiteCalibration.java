package io.llmnpu.runtime.quant;

import java.util.List;

/**
 * What calibration learned about the activations entering one linear site.
 *
 * @param values      activation values observed
 * @param absMax      largest |x|
 * @param clipValue   the percentile of |x| (by default p99.9) that the clipped scale maps to 127
 * @param outliers    values with |x| > clipValue, i.e. beyond the clipped INT8 range
 * @param hotChannels channels producing most outliers, by count (see {@link Calibrator.Options})
 * @param channels    every channel with outliers: count and largest |x|, most outliers first
 */
public record SiteCalibration(long values, float absMax, float clipValue, long outliers, int[] hotChannels,
                              List<ChannelOutliers> channels) {

    public static final int INT8_LIMIT = 127;

    public SiteCalibration {
        hotChannels = hotChannels.clone();
        channels = List.copyOf(channels);
    }

    /** Outliers of one input channel. */
    public record ChannelOutliers(int channel, long count, float maxAbs) {
    }

    @Override
    public int[] hotChannels() {
        return hotChannels.clone();
    }

    /** Per-tensor scale that covers every observed value: absMax / 127. */
    public float absMaxScale() {
        return positive(absMax) / INT8_LIMIT;
    }

    /** Per-tensor scale that clips the top of the distribution: clipValue / 127. */
    public float clipScale() {
        return positive(clipValue) / INT8_LIMIT;
    }

    /** How far the largest outlier reaches beyond the clipped scale: absMax / clipScale. */
    public float importance() {
        return absMax / clipScale();
    }

    /** Share of outliers that fall in the hot channels. */
    public double hotCoverage() {
        if (outliers == 0) {
            return 1;
        }
        long covered = 0;
        java.util.Set<Integer> hot = new java.util.HashSet<>();
        for (int c : hotChannels) {
            hot.add(c);
        }
        for (ChannelOutliers c : channels) {
            if (hot.contains(c.channel())) {
                covered += c.count();
            }
        }
        return (double) covered / outliers;
    }

    /** A scale must be positive even for an all-zero input. */
    private static float positive(float v) {
        return v > 0 ? v : Float.MIN_NORMAL * INT8_LIMIT;
    }
}
