package io.llmnpu.runtime.sampling;

/**
 * The xorshift64* generator of llama2.c {@code run.c}, kept bit-compatible so that a given seed
 * draws the same coins as the C program. Not thread-safe; one instance per generation.
 */
final class Xorshift64Star {

    private static final long MULTIPLIER = 0x2545F4914F6CDD1DL;
    /** 2^24: the coin keeps the top 24 bits of a 32-bit draw, exactly what a float mantissa holds. */
    private static final float TWO_POW_24 = 16777216.0f;

    private long state;

    Xorshift64Star(long seed) {
        this.state = seed;
    }

    /** Next unsigned 32-bit value, returned in the low bits of an int. */
    int nextU32() {
        state ^= state >>> 12;
        state ^= state << 25;
        state ^= state >>> 27;
        return (int) ((state * MULTIPLIER) >>> 32);
    }

    /** Next float in [0, 1), as {@code random_f32}. */
    float nextFloat() {
        return (nextU32() >>> 8) / TWO_POW_24;
    }
}
