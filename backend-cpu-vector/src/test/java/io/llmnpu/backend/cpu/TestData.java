package io.llmnpu.backend.cpu;

import static org.junit.jupiter.api.Assertions.fail;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

/** Random test inputs, tensors built from arrays, and tolerance checks. */
final class TestData {

    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private TestData() {
    }

    static float[] floats(Random rnd, int n, float amplitude) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (rnd.nextFloat() * 2 - 1) * amplitude;
        }
        return a;
    }

    static Tensor f32(Arena arena, String name, Shape shape, float[] values) {
        Tensor t = Tensor.allocate(arena, name, DType.F32, shape);
        for (int i = 0; i < values.length; i++) {
            t.data().setAtIndex(F32, i, values[i]);
        }
        return t;
    }

    static Tensor i32(Arena arena, String name, int... values) {
        Tensor t = Tensor.allocate(arena, name, DType.I32, Shape.of(values.length));
        for (int i = 0; i < values.length; i++) {
            t.data().setAtIndex(I32, i, values[i]);
        }
        return t;
    }

    static float[] read(Tensor t) {
        float[] a = new float[Math.toIntExact(t.shape().elements())];
        for (int i = 0; i < a.length; i++) {
            a[i] = t.data().getAtIndex(F32, i);
        }
        return a;
    }

    /** Fails unless every value is within {@code relative * max(1, max |expected|)} of the reference. */
    static void assertClose(double[] expected, float[] actual, double relative, String what) {
        if (expected.length != actual.length) {
            fail(what + ": expected " + expected.length + " values, got " + actual.length);
        }
        double magnitude = 1;
        for (double e : expected) {
            magnitude = Math.max(magnitude, Math.abs(e));
        }
        double tolerance = relative * magnitude;
        for (int i = 0; i < expected.length; i++) {
            double diff = Math.abs(expected[i] - actual[i]);
            if (!(diff <= tolerance)) {
                fail(what + ": value " + i + " is " + actual[i] + " but the reference gives " + expected[i]
                        + " (difference " + diff + ", tolerance " + tolerance + ")");
            }
        }
    }
}
