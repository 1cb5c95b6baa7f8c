package io.llmnpu.backend.cpu.onednn;

import io.llmnpu.backend.cpu.ParallelLoop;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Activations [T, K] F32 to int8 codes with one scale per token row, the operand oneDNN's int8 matmul
 * multiplies by per-row weight codes; the scales are applied to its INT32 sums afterwards.
 *
 * <p>A per-row scale is set by the row's largest value, so a few channels far larger than the rest
 * (LLMs have such outlier channels, and the occasional token with massive activations) would coarsen
 * every other code of the row. As in LLM.int8()'s mixed-precision decomposition, channels where some
 * row exceeds {@link #OUTLIER_RATIO} times that row's root mean square are taken out before the scales
 * are chosen: their codes are zero, their values are kept here in F32, and the product adds their
 * exact float contribution. At most {@code maxOutliers} channels (the most extreme) are taken out; the
 * rest stay in the int8 part with a coarser scale, never clipped. Gaussian-like rows almost never have
 * a value beyond 6 root mean squares, so for them this finds nothing and costs one vector scan.
 *
 * <p>One instance serves one product and keeps its buffers between executions; it is not thread-safe.
 */
final class TokenQuantizer {

    /** A value more than this many root mean squares of its row makes its channel an outlier. */
    static final float OUTLIER_RATIO = 6f;

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int LANES = Int8Codes.LANES;

    private final int tokens;
    private final int k;
    private final int maxOutliers;
    private final float[] scales;
    private final float[] peaks;
    private int[] outliers = new int[0];
    private final float[] outlierValues;

    TokenQuantizer(int tokens, int k, int maxOutliers) {
        this.tokens = tokens;
        this.k = k;
        this.maxOutliers = maxOutliers;
        this.scales = new float[tokens];
        this.peaks = new float[k];
        this.outlierValues = new float[Math.multiplyExact(tokens, Math.max(1, maxOutliers))];
    }

    /**
     * Quantizes {@code in} [T, K] to {@code codes} [T, K] (native, row-major), shifted by 128 as
     * {@link Int8Codes#encodeShifted} writes them, and chooses the outlier channels of this execution.
     *
     * <p>One pass usually does: a row with no value beyond {@link #OUTLIER_RATIO} root mean squares is
     * encoded as soon as it is seen. Only when some row has such a value are the outlier channels
     * chosen and every row encoded again without them, since a channel taken out changes every row.
     */
    void quantize(MemorySegment in, MemorySegment codes, ParallelLoop loop) {
        Arrays.fill(peaks, 0f);
        int grain = Math.max(1, (1 << 15) / k);
        loop.forRange(tokens, grain, (from, to) -> {
            float[] row = new float[k];
            float[] local = null;
            for (int t = from; t < to; t++) {
                MemorySegment.copy(in, F32, (long) t * k * Float.BYTES, row, 0, k);
                float[] stats = statistics(row);
                float rms = (float) Math.sqrt(stats[0] / k);
                float limit = OUTLIER_RATIO * rms;
                if (maxOutliers > 0 && stats[1] > limit && limit > 0 && Float.isFinite(limit)) {
                    if (local == null) {
                        local = new float[k];
                    }
                    for (int c = 0; c < k; c++) {
                        float ratio = Math.abs(row[c]) / rms;
                        if (ratio > OUTLIER_RATIO && ratio > local[c]) {
                            local[c] = ratio;
                        }
                    }
                } else {
                    encodeRow(t, row, stats[1], codes);
                }
            }
            if (local != null) {
                synchronized (peaks) {
                    for (int c = 0; c < k; c++) {
                        peaks[c] = Math.max(peaks[c], local[c]);
                    }
                }
            }
        });
        outliers = chooseOutliers();
        if (outliers.length == 0) {
            return;
        }
        int[] chosen = outliers;
        loop.forRange(tokens, grain, (from, to) -> {
            float[] row = new float[k];
            for (int t = from; t < to; t++) {
                MemorySegment.copy(in, F32, (long) t * k * Float.BYTES, row, 0, k);
                for (int o = 0; o < chosen.length; o++) {
                    outlierValues[t * maxOutliers + o] = row[chosen[o]];
                    row[chosen[o]] = 0;
                }
                encodeRow(t, row, Int8Codes.absMax(row, 0, k), codes);
            }
        });
    }

    /** Row {@code t}'s codes for a row whose largest magnitude is {@code max}: that value becomes code 127. */
    private void encodeRow(int t, float[] row, float max, MemorySegment codes) {
        float scale = max / Int8Codes.LIMIT;
        scales[t] = scale;
        if (scale == 0) {
            codes.asSlice((long) t * k, k).fill(Int8Codes.SHIFTED_ZERO);
        } else {
            Int8Codes.encodeShiftedTimes(row, 0, k, Int8Codes.LIMIT / max, codes, (long) t * k);
        }
    }

    /** The value of one int8 step of row {@code t} in the last execution. */
    float scale(int t) {
        return scales[t];
    }

    /** The outlier channels of the last execution, ascending (a copy). */
    int[] outliers() {
        return outliers.clone();
    }

    int outlierCount() {
        return outliers.length;
    }

    /** Row {@code t}'s value in outlier channel number {@code o} of the last execution. */
    float outlierValue(int t, int o) {
        return outlierValues[t * maxOutliers + o];
    }

    /** The channels marked in {@link #peaks}, at most {@code maxOutliers} with the largest ratios, ascending. */
    private int[] chooseOutliers() {
        int count = 0;
        for (float p : peaks) {
            if (p > 0) {
                count++;
            }
        }
        int[] found = new int[count];
        for (int c = 0, i = 0; c < k; c++) {
            if (peaks[c] > 0) {
                found[i++] = c;
            }
        }
        if (found.length > maxOutliers) {
            // The most extreme channels first, then back to ascending channel order.
            Integer[] byPeak = Arrays.stream(found).boxed().toArray(Integer[]::new);
            Arrays.sort(byPeak, (a, b) -> Float.compare(peaks[b], peaks[a]));
            found = Arrays.stream(byPeak, 0, maxOutliers).mapToInt(Integer::intValue).sorted().toArray();
        }
        return found;
    }

    /** The row's sum of squares and largest magnitude, in one pass (NaN if the row holds a NaN). */
    private static float[] statistics(float[] row) {
        int i = 0;
        double squares = 0;
        float max = 0;
        if (LANES >= 8) {
            FloatVector sum = FloatVector.zero(Int8Codes.FLOATS);
            FloatVector top = FloatVector.zero(Int8Codes.FLOATS);
            for (; i + LANES <= row.length; i += LANES) {
                FloatVector v = FloatVector.fromArray(Int8Codes.FLOATS, row, i);
                sum = v.fma(v, sum);
                top = top.max(v.abs());
            }
            squares = sum.reduceLanes(VectorOperators.ADD);
            max = top.reduceLanes(VectorOperators.MAX);
        }
        for (; i < row.length; i++) {
            squares += (double) row[i] * row[i];
            max = Math.max(max, Math.abs(row[i]));
        }
        return new float[] {(float) squares, max};
    }
}
