package io.llmnpu.backend.vulkan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.tck.TensorDecoder;
import java.lang.foreign.Arena;
import java.util.Random;

/** Seeded random tensors and a tolerance check for the Vulkan tests. */
final class TestTensors {
    private TestTensors() {
    }

    static Tensor random(Arena arena, String name, Shape shape, Random rnd) {
        Tensor t = Tensor.allocate(arena, name, DType.F32, shape);
        for (long i = 0; i < shape.elements(); i++) {
            t.setFloat(i, (float) (rnd.nextDouble() * 2 - 1));
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

    static double[] values(Tensor t) {
        return TensorDecoder.toDoubles(t);
    }

    /** Every element within {@code tolerance} of the expected one, relative to the largest expected magnitude. */
    static void assertClose(double[] expected, double[] actual, double tolerance, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        double scale = 1e-30;
        for (double v : expected) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int i = 0; i < expected.length; i++) {
            if (!(Math.abs(expected[i] - actual[i]) <= tolerance * scale)) {
                fail(what + ": element " + i + " expected " + expected[i] + " but was " + actual[i]
                        + " (tolerance " + tolerance + " x " + scale + ")");
            }
        }
    }
}
