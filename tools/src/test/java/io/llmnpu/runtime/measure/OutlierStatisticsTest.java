package io.llmnpu.runtime.measure;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.runtime.quant.SiteCalibration;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.Test;

/** Exact percentiles and outlier counts against sorting every value, as NumPy's percentile does. */
class OutlierStatisticsTest {

    @RepeatedTest(12)
    void matchesFullSortAcrossBatches(RepetitionInfo info) {
        Random rnd = new Random(31L * info.getCurrentRepetition());
        int width = 1 + rnd.nextInt(90);
        int batches = 1 + rnd.nextInt(12);
        double percentile = info.getCurrentRepetition() % 3 == 0 ? 99 : 99.9;
        int[] hotChannels = rnd.ints(0, width).distinct().limit(Math.min(width, 3)).toArray();
        int[] rows = new int[batches];
        int total = 0;
        for (int b = 0; b < batches; b++) {
            rows[b] = 1 + rnd.nextInt(300);
            total += rows[b];
        }
        OutlierStatistics stats = new OutlierStatistics(width, (long) total * width, percentile);
        float[] all = new float[total * width];
        int[] channelOf = new int[all.length];
        int at = 0;
        try (Arena arena = Arena.ofConfined()) {
            for (int b = 0; b < batches; b++) {
                MemorySegment batch = arena.allocate((long) rows[b] * width * Float.BYTES);
                for (int r = 0; r < rows[b]; r++) {
                    for (int c = 0; c < width; c++) {
                        float v = (float) rnd.nextGaussian();
                        for (int h : hotChannels) {
                            if (h == c && rnd.nextInt(50) == 0) {
                                v *= 30;
                            }
                        }
                        if (rnd.nextInt(40) == 0) {
                            v = Math.round(v * 4) / 4f; // ties, to exercise equal values at the cut
                        }
                        batch.setAtIndex(Tensor.F32_LE, (long) r * width + c, v);
                        all[at] = Math.abs(v);
                        channelOf[at++] = c;
                    }
                }
                stats.observe(batch, rows[b]);
            }
        }
        SiteCalibration s = stats.finish(0.8, 0.5);
        float[] sorted = all.clone();
        Arrays.sort(sorted);
        double rank = percentile / 100 * (sorted.length - 1);
        int lo = (int) Math.floor(rank);
        double expected = sorted[lo] + (rank - lo) * (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]);
        assertEquals((float) expected, s.clipValue(), 1e-6f * Math.max(1, (float) expected));
        assertEquals(sorted[sorted.length - 1], s.absMax());
        assertEquals((long) total * width, s.values());

        long[] counts = new long[width];
        long outliers = 0;
        for (int i = 0; i < all.length; i++) {
            if (all[i] > s.clipValue()) {
                counts[channelOf[i]]++;
                outliers++;
            }
        }
        assertEquals(outliers, s.outliers());
        long[] reported = new long[width];
        for (SiteCalibration.ChannelOutliers c : s.channels()) {
            reported[c.channel()] = c.count();
        }
        assertArrayEquals(counts, reported);
        for (int i = 1; i < s.channels().size(); i++) {
            assertTrue(s.channels().get(i - 1).count() >= s.channels().get(i).count(), "sorted by count");
        }
        assertTrue(s.hotCoverage() >= 0.8 || s.hotChannels().length == Math.max(1, (int) Math.floor(0.5 * width)),
                "hot channels cover 80% of outliers unless capped");
    }

    @Test
    void hotChannelsAreTheBusiestOnes() {
        int width = 100;
        int rowCount = 2000;
        OutlierStatistics stats = new OutlierStatistics(width, (long) rowCount * width, 99.9);
        Random rnd = new Random(9);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment batch = arena.allocate((long) rowCount * width * Float.BYTES);
            for (int r = 0; r < rowCount; r++) {
                for (int c = 0; c < width; c++) {
                    float v = (float) rnd.nextGaussian();
                    if ((c == 7 || c == 42) && r % 20 == 0) {
                        v = 50 + r % 7;
                    }
                    batch.setAtIndex(Tensor.F32_LE, (long) r * width + c, v);
                }
            }
            stats.observe(batch, rowCount);
        }
        SiteCalibration s = stats.finish(0.8, 0.05);
        assertArrayEquals(new int[] {7, 42}, s.hotChannels());
        assertEquals(56f, s.absMax());
        assertTrue(s.importance() > 127 * 10, "outliers reach far beyond the clipped scale: " + s.importance());
    }
}
