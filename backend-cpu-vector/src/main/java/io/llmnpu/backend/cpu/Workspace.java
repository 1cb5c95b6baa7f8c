package io.llmnpu.backend.cpu;

/**
 * Scratch arrays that the kernels of one compiled graph share. Kernels of a graph run one after
 * another and a graph runs one execution at a time, so one array per use serves them all: it grows to
 * the largest request and is then reused, instead of every kernel holding its own.
 */
final class Workspace {

    /** What an array holds; arrays of different uses may be needed at the same time. */
    enum Use {
        /** Token rows transposed into blocks for the tiled GEMM. */
        PACKED_ACTIVATIONS,
        /** Attention keys transposed to [kvHead][dim][position]. */
        KEYS,
        /** Attention values copied to [kvHead][position][padded dim]. */
        VALUES
    }

    private final float[][] arrays = new float[Use.values().length][0];

    /** A float[] of at least {@code length} values with unspecified contents, valid until the next call for this use. */
    float[] floats(Use use, int length) {
        if (arrays[use.ordinal()].length < length) {
            arrays[use.ordinal()] = new float[length];
        }
        return arrays[use.ordinal()];
    }
}
