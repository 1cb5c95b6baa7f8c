package io.llmnpu.tck;

import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.Tensor;
import java.util.BitSet;
import java.util.Locale;
import org.opentest4j.AssertionFailedError;

/**
 * Compares a backend's results with the reference and, when they differ, says where and by how much
 * in one readable line: the value, how many elements are off, the worst element with its row and
 * column, and the bound it broke.
 */
final class ResultCheck {

    private ResultCheck() {
    }

    /**
     * Every element of {@code actual} within {@code bound} of the reference result {@code expected},
     * row by row. A row's magnitude is its largest |expected|, raised to {@code rowFloor[row]} where a
     * floor is given (null for none).
     */
    static void matches(String context, Value value, Tensor actual, double[] expected, double[] rowFloor,
                        Tolerances.Bound bound) {
        matches(context, value, actual, expected, rowFloor, bound, "the double-precision reference");
    }

    /** As {@link #matches(String, Value, Tensor, double[], double[], Tolerances.Bound)}, naming what {@code expected} is. */
    static void matches(String context, Value value, Tensor actual, double[] expected, double[] rowFloor,
                        Tolerances.Bound bound, String expectedName) {
        float[] got = actual.toFloatArray();
        int cols = value.shape().cols();
        int rows = value.shape().rows();
        Mismatch worst = null;
        int bad = 0;
        for (int r = 0; r < rows; r++) {
            double magnitude = Math.max(rowMax(expected, r, cols), rowFloor == null ? 0 : rowFloor[r]);
            double allowed = bound.allowed(magnitude);
            for (int c = 0; c < cols; c++) {
                int i = r * cols + c;
                double diff = Math.abs(got[i] - expected[i]);
                if (!Float.isFinite(got[i]) || diff > allowed) {
                    bad++;
                    double excess = Float.isFinite(got[i]) ? diff / allowed : Double.POSITIVE_INFINITY;
                    if (worst == null || excess > worst.excess) {
                        worst = new Mismatch(r, c, got[i], expected[i], diff, allowed, magnitude, excess);
                    }
                }
            }
        }
        if (bad > 0) {
            throw new AssertionFailedError(String.format(Locale.ROOT,
                    "%s: %s differs from %s in %d of %d values; worst at [%d, %d]:"
                            + " got %s, expected %.6g (|diff| %.3g > allowed %.3g = %s, row magnitude %.4g)",
                    context, value, expectedName, bad, rows * cols, worst.row, worst.col, worst.got, worst.expected,
                    worst.diff, worst.allowed, bound, worst.magnitude));
        }
    }

    /**
     * A KV cache after execution: rows the reference wrote match within {@code bound}; every other row
     * (earlier history, rows past the chunk, rows a padding token might have hit) is bit-for-bit
     * what it was before.
     */
    static void cacheMatches(String context, Value cache, Tensor actual, float[] before, double[] expected,
                             BitSet writtenRows, Tolerances.Bound bound) {
        float[] got = actual.toFloatArray();
        int cols = cache.shape().cols();
        for (int r = 0; r < cache.shape().rows(); r++) {
            if (writtenRows.get(r)) {
                continue;
            }
            for (int c = 0; c < cols; c++) {
                int i = r * cols + c;
                if (Float.floatToRawIntBits(got[i]) != Float.floatToRawIntBits(before[i])) {
                    throw new AssertionFailedError(String.format(Locale.ROOT,
                            "%s: cache %s row %d holds no position written by this call (rows written: %s), so it must"
                                    + " stay unchanged, but [%d, %d] changed from %s to %s",
                            context, cache, r, writtenRows, r, c, before[i], got[i]));
                }
            }
        }
        matches(context + " (cache rows written)", cache, actual, expected, null, bound);
    }

    private static double rowMax(double[] values, int row, int cols) {
        double max = 0;
        for (int c = 0; c < cols; c++) {
            max = Math.max(max, Math.abs(values[row * cols + c]));
        }
        return max;
    }

    private record Mismatch(int row, int col, float got, double expected, double diff, double allowed,
                            double magnitude, double excess) {
    }
}
