package io.llmnpu.backend.cpu;

/**
 * One token row made ready for the decode kernels ({@link InterleavedMatmul}): copied out of the
 * activations and, by weight type, scaled, rounded to int8 pairs, summed per block. It is prepared once
 * per product on the thread that starts it, then only read by every chunk on every thread (the loop's
 * start publishes it to the workers), instead of each chunk preparing its own copy. Arrays grow to the
 * largest request and are reused; contents are whatever the last preparation left.
 */
final class DecodeRow {

    /** The activations, possibly scaled per column (see the kernels). */
    float[] values = new float[0];
    /** Per-block corrections the kernels subtract. */
    float[] offsets = new float[0];
    /** Per-block sums of the activations. */
    float[] sums = new float[0];
    /** Q5_0/Q5_1: the row prepared for the fifth bits. */
    float[] fifthBits = new float[0];
    /** The row rounded to int8, as pairs in int words ({@link Int8Activations}). */
    int[] pairs = new int[0];
    /** The int8 levels behind {@link #pairs}, one int per value. */
    int[] levels = new int[0];
    /** The scale of each block of {@link #pairs}. */
    float[] pairScales = new float[0];

    static float[] atLeast(float[] a, int length) {
        return a.length >= length ? a : new float[length];
    }

    static int[] atLeast(int[] a, int length) {
        return a.length >= length ? a : new int[length];
    }
}
