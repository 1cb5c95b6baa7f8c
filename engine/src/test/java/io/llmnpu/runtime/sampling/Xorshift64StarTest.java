package io.llmnpu.runtime.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.util.Random;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class Xorshift64StarTest {

    /** First four draws of llama2.c's random_u32/random_f32, printed by the C code compiled with gcc. */
    @ParameterizedTest
    @CsvSource({
            "42, 1456360119, 0.339085221, 3359763283, 0.782255828, 3393612768, 0.790136993, 4054632243, 0.944042623",
            "133742, 3033531262, 0.706299007, 2674377904, 0.622677088, 2312864567, 0.538505733, 2287415643, 0.532580435",
            "-7, 777871233, 0.18111223, 3583622156, 0.83437705, 3093992388, 0.720376194, 3406047025, 0.79303211"})
    void matchesTheCGenerator(long seed, long u1, float f1, long u2, float f2, long u3, float f3, long u4, float f4) {
        Xorshift64Star ints = new Xorshift64Star(seed);
        Xorshift64Star floats = new Xorshift64Star(seed);
        long[] expectedInts = {u1, u2, u3, u4};
        float[] expectedFloats = {f1, f2, f3, f4};
        for (int i = 0; i < 4; i++) {
            assertEquals(expectedInts[i], Integer.toUnsignedLong(ints.nextU32()), "draw " + i);
            assertEquals(expectedFloats[i], floats.nextFloat(), 0f, "coin " + i);
        }
    }

    /** Against a BigInteger model of the unsigned 64-bit arithmetic, for random seeds. */
    @ParameterizedTest
    @ValueSource(longs = {1L, 2L, 3L})
    void agreesWithArbitraryPrecisionArithmetic(long testSeed) {
        Random random = new Random(testSeed);
        BigInteger mask = BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE);
        BigInteger multiplier = new BigInteger("2545F4914F6CDD1D", 16);
        for (int trial = 0; trial < 20; trial++) {
            long seed = random.nextLong() | 1;
            Xorshift64Star rng = new Xorshift64Star(seed);
            BigInteger state = new BigInteger(Long.toUnsignedString(seed));
            for (int i = 0; i < 50; i++) {
                state = state.xor(state.shiftRight(12));
                state = state.xor(state.shiftLeft(25)).and(mask);
                state = state.xor(state.shiftRight(27));
                long expected = state.multiply(multiplier).and(mask).shiftRight(32).longValueExact();
                assertEquals(expected, Integer.toUnsignedLong(rng.nextU32()));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {1L, 42L, -1L, Long.MIN_VALUE})
    void coinsLieInTheUnitInterval(long seed) {
        Xorshift64Star rng = new Xorshift64Star(seed);
        for (int i = 0; i < 10_000; i++) {
            float coin = rng.nextFloat();
            assertTrue(coin >= 0f && coin < 1f, "coin " + coin);
        }
    }
}
