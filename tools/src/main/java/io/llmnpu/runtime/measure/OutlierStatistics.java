package io.llmnpu.runtime.measure;

import io.llmnpu.runtime.quant.SiteCalibration;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Accumulates |x| of the activations entering one linear site, exactly: the largest value, and the
 * percentile that sets the clipped INT8 scale (NumPy's default "linear" interpolation between order
 * statistics). Only the top of the distribution matters for that percentile, so instead of every value
 * it keeps the largest ones with their channel, as many as the percentile can reach for the number of
 * values announced up front. Those kept values are also exactly the outliers of the clipped range, so
 * per-channel outlier counts come out exact as well. Not thread-safe.
 */
final class OutlierStatistics {

    private final int width;
    private final double percentile;
    private final long capacityFor;
    private final int keep;
    /** Kept values: float bits of |x| (order-preserving for non-negative floats) << 32 | channel. */
    private long[] kept;
    private int size;
    /** Values at or below this cannot be among the top {@link #keep}; -1 while fewer were seen. */
    private float admit = -1;
    private long count;
    private float absMax;

    /**
     * @param width      channels per row
     * @param maxValues  the most values {@link #observe} will see in all
     * @param percentile in (0, 100], e.g. 99.9
     */
    OutlierStatistics(int width, long maxValues, double percentile) {
        if (!(percentile > 0 && percentile <= 100)) {
            throw new IllegalArgumentException("percentile must be in (0, 100], got " + percentile);
        }
        this.width = width;
        this.percentile = percentile;
        this.capacityFor = Math.max(1, maxValues);
        long needed = capacityFor - (long) Math.floor(percentile / 100.0 * (capacityFor - 1)) + 2;
        this.keep = (int) Math.min(Integer.MAX_VALUE - 16, Math.min(needed, capacityFor));
        this.kept = new long[(int) Math.min(Integer.MAX_VALUE - 16, Math.max(16, 2L * keep))];
    }

    /** Adds {@code rows} rows of {@code width} F32 values from {@code data}. */
    void observe(MemorySegment data, int rows) {
        if (count + (long) rows * width > capacityFor) {
            throw new IllegalStateException("more values than announced (" + capacityFor + ")");
        }
        for (int r = 0; r < rows; r++) {
            long rowOff = (long) r * width * Float.BYTES;
            for (int c = 0; c < width; c++) {
                float a = Math.abs(data.get(Tensor.F32_LE, rowOff + (long) c * Float.BYTES));
                if (a != a) { // NaN: count it, keep it out of the statistics
                    continue;
                }
                if (a > absMax) {
                    absMax = a;
                }
                if (a > admit) {
                    if (size == kept.length) {
                        compact();
                        if (!(a > admit)) {
                            continue;
                        }
                    }
                    kept[size++] = ((long) Float.floatToRawIntBits(a) << 32) | c;
                }
            }
        }
        count += (long) rows * width;
    }

    /** Keeps the {@link #keep} largest values and raises the admission bar to the smallest of them. */
    private void compact() {
        Arrays.sort(kept, 0, size);
        int from = Math.max(0, size - keep);
        System.arraycopy(kept, from, kept, 0, size - from);
        size -= from;
        if (size >= keep) {
            admit = valueOf(kept[0]);
        }
    }

    private static float valueOf(long entry) {
        return Float.intBitsToFloat((int) (entry >>> 32));
    }

    long count() {
        return count;
    }

    float absMax() {
        return absMax;
    }

    /**
     * The finished statistics.
     *
     * @param hotCoverage    hot channels are the busiest channels that together hold this share of outliers
     * @param hotMaxFraction but at most this share of all channels (at least one when there are outliers)
     */
    SiteCalibration finish(double hotCoverage, double hotMaxFraction) {
        Arrays.sort(kept, 0, size);
        float clip = percentileValue();
        long[] perChannel = new long[width];
        float[] maxPerChannel = new float[width];
        long outliers = 0;
        for (int i = size - 1; i >= 0; i--) {
            float v = valueOf(kept[i]);
            if (!(v > clip)) {
                break;
            }
            int c = (int) kept[i];
            perChannel[c]++;
            maxPerChannel[c] = Math.max(maxPerChannel[c], v);
            outliers++;
        }
        List<SiteCalibration.ChannelOutliers> channels = new ArrayList<>();
        for (int c = 0; c < width; c++) {
            if (perChannel[c] > 0) {
                channels.add(new SiteCalibration.ChannelOutliers(c, perChannel[c], maxPerChannel[c]));
            }
        }
        channels.sort(Comparator.comparingLong(SiteCalibration.ChannelOutliers::count).reversed()
                .thenComparingInt(SiteCalibration.ChannelOutliers::channel));
        int maxHot = (int) Math.max(1, Math.floor(hotMaxFraction * width));
        List<Integer> hot = new ArrayList<>();
        long covered = 0;
        for (SiteCalibration.ChannelOutliers c : channels) {
            if (covered >= hotCoverage * outliers || hot.size() >= maxHot) {
                break;
            }
            hot.add(c.channel());
            covered += c.count();
        }
        return new SiteCalibration(count, absMax, clip, outliers, hot.stream().mapToInt(Integer::intValue).sorted().toArray(),
                channels);
    }

    /** NumPy's {@code percentile(|x|, p)}: linear interpolation at rank p/100 * (n - 1) of the sorted values. */
    private float percentileValue() {
        if (count == 0 || size == 0) {
            return 0;
        }
        double rank = percentile / 100.0 * (count - 1);
        long lo = (long) Math.floor(rank);
        double frac = rank - lo;
        float below = ascending(lo);
        float above = lo + 1 < count ? ascending(lo + 1) : below;
        return (float) (below + frac * (above - below));
    }

    /** The value at ascending rank {@code rank} among all observed, read from the kept top (sorted ascending). */
    private float ascending(long rank) {
        long fromTop = count - 1 - rank; // 0 = the largest
        long index = size - 1 - fromTop;
        if (index < 0) {
            throw new IllegalStateException("rank " + rank + " fell below the kept values; announce the value count");
        }
        return valueOf(kept[(int) index]);
    }
}
