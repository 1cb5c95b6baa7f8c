package io.llmnpu.backend.cpu;

/**
 * Scratch memory that the kernels of one compiled graph share. Kernels of a graph run one after
 * another and a graph runs one execution at a time, so a single buffer serves them all: it grows to
 * the largest request and is then reused, instead of every kernel holding its own.
 */
final class Workspace {

    private float[] packed = new float[0];

    /** A float[] of at least {@code length} values with unspecified contents, valid until the next call. */
    float[] packedActivations(int length) {
        if (packed.length < length) {
            packed = new float[length];
        }
        return packed;
    }
}
