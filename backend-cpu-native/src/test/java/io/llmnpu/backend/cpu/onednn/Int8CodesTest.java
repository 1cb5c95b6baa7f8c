package io.llmnpu.backend.cpu.onednn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The vectorised int8 encoder against the scalar rule the reference NPU applies, value for value. */
class Int8CodesTest {

    /** The reference NPU's ingress rule, written out: clamp(rint(f32(x / scale)), -127, 127), NaN to 0. */
    private static int npuCode(float x, float scale) {
        double q = Math.rint(x / scale);
        return (int) Math.max(-127, Math.min(127, q));
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5})
    void encodesEveryValueAsTheScalarRuleDoes(int seed) {
        Random random = new Random(seed);
        int n = 16 * 64 + seed * 7; // a vector body and a scalar tail
        float scale = (float) Math.pow(10, -3 + 3 * random.nextDouble());
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = switch (i % 9) {
                case 0 -> (random.nextInt(301) - 150 + 0.5f) * scale; // rounding ties, some beyond +-127
                case 1 -> (float) (random.nextGaussian() * 400 * scale); // saturating
                case 2 -> random.nextInt(255) - 127; // integers
                case 3 -> Math.nextUp((random.nextInt(255) - 127 + 0.5f) * scale); // just past a tie
                default -> (float) (random.nextGaussian() * 40 * scale);
            };
        }
        x[5] = Float.NaN;
        x[6] = Float.POSITIVE_INFINITY;
        x[7] = Float.NEGATIVE_INFINITY;
        x[8] = -0f;
        x[n - 1] = Float.NaN; // in the scalar tail too
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment codes = arena.allocate(n + 3);
            Int8Codes.encode(x, 0, n, scale, codes, 3);
            MemorySegment shifted = arena.allocate(n);
            Int8Codes.encodeShifted(x, 0, n, scale, shifted, 0);
            MemorySegment multiplied = arena.allocate(n);
            float inverse = 1 / scale;
            Int8Codes.encodeShiftedTimes(x, 0, n, inverse, multiplied, 0);
            for (int i = 0; i < n; i++) {
                assertEquals(npuCode(x[i], scale), codes.get(ValueLayout.JAVA_BYTE, 3 + i), "value " + x[i] + " at " + i);
                assertEquals(npuCode(x[i], scale), Int8Codes.code(x[i], scale), "scalar code of " + x[i]);
                assertEquals(npuCode(x[i], scale) + 128, shifted.get(ValueLayout.JAVA_BYTE, i) & 0xFF,
                        "shifted code of " + x[i]);
                int timesCode = (int) Math.max(-127, Math.min(127, Math.rint(x[i] * inverse)));
                assertEquals(timesCode + 128, multiplied.get(ValueLayout.JAVA_BYTE, i) & 0xFF, "code of " + x[i] + " times 1/scale");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 15, 16, 17, 100})
    void absMaxSeesEveryLane(int n) {
        float[] x = new float[n + 2];
        for (int i = 0; i < n; i++) {
            x[i + 2] = (float) Math.sin(i) * 3;
        }
        x[n + 1] = -7.5f; // the last value, wherever the tail starts
        assertEquals(7.5f, Int8Codes.absMax(x, 2, n));
        x[2] = Float.NaN;
        assertEquals(Float.NaN, Int8Codes.absMax(x, 2, n));
    }
}
