package io.llmnpu.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** The vector exponential and softmax helper against {@code Math.exp} in double precision. */
class VectorMathTest {

    @Test
    void expNonPositiveIsWithinAFewUlpsOfMathExp() {
        Random rnd = new Random(17);
        float[] in = new float[VectorSpecs.LANES];
        float[] out = new float[VectorSpecs.LANES];
        double worst = 0;
        for (int round = 0; round < 20_000; round++) {
            for (int i = 0; i < in.length; i++) {
                in[i] = round == 0 && i == 0 ? 0f : -(float) (rnd.nextDouble() * (round % 2 == 0 ? 1 : 80));
            }
            VectorMath.expNonPositive(FloatVector.fromArray(VectorSpecs.FLOATS, in, 0)).intoArray(out, 0);
            for (int i = 0; i < in.length; i++) {
                double exact = Math.exp(in[i]);
                double ulps = Math.abs(out[i] - exact) / Math.ulp((float) exact);
                worst = Math.max(worst, ulps);
            }
        }
        assertTrue(worst <= 4, "worst error " + worst + " ulps");
        VectorMath.expNonPositive(FloatVector.broadcast(VectorSpecs.FLOATS, 0f)).intoArray(out, 0);
        assertEquals(1f, out[0], "e^0");
    }

    /** Inputs far below the floor give tiny positive values, never zeros, NaNs or garbage exponents. */
    @Test
    void veryNegativeInputsStayTinyAndFinite() {
        float[] out = new float[VectorSpecs.LANES];
        for (float x : new float[] {-80f, -87.5f, -200f, -1e30f, Float.NEGATIVE_INFINITY}) {
            VectorMath.expNonPositive(FloatVector.broadcast(VectorSpecs.FLOATS, x)).intoArray(out, 0);
            assertTrue(out[0] > 0 && out[0] < 1e-34f, "exp(" + x + ") = " + out[0]);
        }
    }

    @Test
    void softmaxNumeratorsMatchTheDefinition() {
        Random rnd = new Random(5);
        for (int count : new int[] {1, 3, VectorSpecs.LANES, 2 * VectorSpecs.LANES + 5, 300}) {
            float[] s = TestData.floats(rnd, count + 7, 20f);
            float[] before = s.clone();
            float scale = 0.125f;
            float sum = VectorMath.softmaxNumerators(s, 7, count, scale);
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 7; j < 7 + count; j++) {
                max = Math.max(max, (double) (before[j] * scale));
            }
            double[] expected = new double[count];
            float[] actual = new float[count];
            double expectedSum = 0;
            for (int j = 0; j < count; j++) {
                expected[j] = Math.exp(before[7 + j] * scale - max);
                expectedSum += expected[j];
                actual[j] = s[7 + j];
            }
            TestData.assertClose(expected, actual, 1e-6, "numerators of " + count);
            assertEquals(expectedSum, sum, 1e-5 * expectedSum, "sum of " + count);
            for (int j = 0; j < 7; j++) {
                assertEquals(before[j], s[j], "values before the range stay");
            }
        }
    }
}
