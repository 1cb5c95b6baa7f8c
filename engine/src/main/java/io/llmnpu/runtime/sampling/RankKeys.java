package io.llmnpu.runtime.sampling;

/**
 * Packs a float score and a token id into one {@code long} whose natural (signed) order is the
 * order of the score, ties broken towards the lower id. Sorting primitive longs avoids boxing and
 * comparator calls, which matters for vocabularies of 150k tokens.
 */
final class RankKeys {

    private RankKeys() {
    }

    /** Key for any non-NaN float. */
    static long of(float score, int id) {
        int bits = Float.floatToRawIntBits(score);
        // Negative floats order in reverse by their bits; flipping the magnitude bits fixes that.
        int ordered = bits ^ ((bits >> 31) & 0x7FFFFFFF);
        return ((long) ordered << 32) | (~id & 0xFFFFFFFFL);
    }

    static float score(long key) {
        int ordered = (int) (key >> 32);
        return Float.intBitsToFloat(ordered ^ ((ordered >> 31) & 0x7FFFFFFF));
    }

    static int id(long key) {
        return ~(int) key;
    }
}
