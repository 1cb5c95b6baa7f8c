package io.llmnpu.backend.opencl;

import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Random;

/** Helpers to build F32/I32 test tensors and read them back as double rows. */
final class TestTensors {
    private TestTensors() {
    }

    static Tensor randomF32(Arena arena, String name, Shape shape, Random rnd, double range) {
        Tensor t = Tensor.allocate(arena, name, DType.F32, shape);
        for (long i = 0; i < shape.elements(); i++) {
            t.setFloat(i, (float) ((rnd.nextDouble() * 2 - 1) * range));
        }
        return t;
    }

    static Tensor ints(Arena arena, String name, int... values) {
        Tensor t = Tensor.allocate(arena, name, DType.I32, Shape.of(values.length));
        for (int i = 0; i < values.length; i++) {
            t.setInt(i, values[i]);
        }
        return t;
    }

    static Tensor zeros(Arena arena, Value v) {
        return Tensor.allocate(arena, v.name(), v.dtype(), v.shape());
    }

    /** An F32 tensor as rows of doubles ([rows][cols] of its shape). */
    static double[][] rows(Tensor t) {
        int rows = t.shape().rows();
        int cols = t.shape().cols();
        double[][] out = new double[rows][cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out[r][c] = t.getFloat((long) r * cols + c);
            }
        }
        return out;
    }

    static void assertClose(double[][] expected, double[][] actual, double absTol, double relTol, String what) {
        org.junit.jupiter.api.Assertions.assertEquals(expected.length, actual.length, what + ": row count");
        for (int r = 0; r < expected.length; r++) {
            org.junit.jupiter.api.Assertions.assertEquals(expected[r].length, actual[r].length, what + ": width of row " + r);
            for (int c = 0; c < expected[r].length; c++) {
                double tol = absTol + relTol * Math.abs(expected[r][c]);
                double diff = Math.abs(expected[r][c] - actual[r][c]);
                if (!(diff <= tol)) {
                    org.junit.jupiter.api.Assertions.fail(what + ": [" + r + "][" + c + "] expected " + expected[r][c]
                            + " but was " + actual[r][c] + " (diff " + diff + " > tol " + tol + ")");
                }
            }
        }
    }

    /**
     * Like {@link #assertClose} with the tolerance scaled by the largest magnitude in each expected
     * row: float sums over long rows are accurate relative to the row's scale, not to each element.
     */
    static void assertCloseToRowScale(double[][] expected, double[][] actual, double tolerance, String what) {
        for (int r = 0; r < expected.length; r++) {
            double max = 0;
            for (double v : expected[r]) {
                max = Math.max(max, Math.abs(v));
            }
            double[] row = expected[r];
            double[] got = actual[r];
            for (int c = 0; c < row.length; c++) {
                double diff = Math.abs(row[c] - got[c]);
                if (!(diff <= tolerance * Math.max(max, 1e-30))) {
                    org.junit.jupiter.api.Assertions.fail(what + ": [" + r + "][" + c + "] expected " + row[c] + " but was "
                            + got[c] + " (diff " + diff + " > " + tolerance + " x row scale " + max + ")");
                }
            }
        }
    }
}
