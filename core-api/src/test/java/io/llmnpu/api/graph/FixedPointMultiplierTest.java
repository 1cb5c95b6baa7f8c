package io.llmnpu.api.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

/** Integer requantization against exact rounding in double precision. */
class FixedPointMultiplierTest {

    @RepeatedTest(20)
    void matchesExactRoundingWithinOneStep(org.junit.jupiter.api.RepetitionInfo info) {
        Random rnd = new Random(1000 + info.getCurrentRepetition());
        double real = Math.pow(2, -30 + 40 * rnd.nextDouble());
        FixedPointMultiplier m = FixedPointMultiplier.of(real);
        assertTrue(Math.abs(m.real() - real) <= real * 1e-9, "mantissa keeps 31 bits of " + real);
        for (int i = 0; i < 2000; i++) {
            int acc = rnd.nextInt() >> rnd.nextInt(31);
            double exact = Math.max(-32767, Math.min(32767, Math.rint(acc * real)));
            int got = m.apply(acc, 32767);
            assertTrue(Math.abs(got - exact) <= 1, acc + " * " + real + ": " + got + " vs " + exact);
        }
    }

    @Test
    void roundsTiesAwayFromZeroAndSaturates() {
        FixedPointMultiplier half = FixedPointMultiplier.of(0.5);
        assertEquals(2, half.apply(3, 100));
        assertEquals(-2, half.apply(-3, 100));
        assertEquals(0, half.apply(0, 100));
        assertEquals(100, FixedPointMultiplier.of(3.0).apply(1000, 100));
        assertEquals(-100, FixedPointMultiplier.of(3.0).apply(-1000, 100));
        assertEquals(0, FixedPointMultiplier.of(1e-30).apply(Integer.MAX_VALUE, 100));
        assertEquals(32767, FixedPointMultiplier.of(1.0).apply(Integer.MAX_VALUE, 32767));
    }
}
