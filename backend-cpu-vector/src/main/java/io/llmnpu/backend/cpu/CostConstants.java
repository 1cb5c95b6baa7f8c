package io.llmnpu.backend.cpu;

/**
 * The two rates the CPU cost model prices ops with, for all of the backend's threads together, and
 * where they came from (shown by {@code llmnpu backends}).
 *
 * @param flopsPerSecond sustained floating-point rate of the prefill GEMM
 * @param bytesPerSecond sustained read rate of the decode matvec, which streams weights from memory
 * @param source         "measured now", "cached &lt;file&gt;" or "defaults"
 */
record CostConstants(double flopsPerSecond, double bytesPerSecond, String source) {

    /** The fixed rates used when nothing is measured: about 20 GFLOP/s per thread and 10 GB/s. */
    static final double DEFAULT_FLOPS_PER_THREAD = 20e9;
    static final double DEFAULT_BYTES_PER_SECOND = 10e9;

    CostConstants {
        if (!(flopsPerSecond > 0) || !Double.isFinite(flopsPerSecond)
                || !(bytesPerSecond > 0) || !Double.isFinite(bytesPerSecond)) {
            throw new IllegalArgumentException("cost rates must be positive and finite, got "
                    + flopsPerSecond + " FLOP/s and " + bytesPerSecond + " B/s");
        }
    }

    static CostConstants defaults(int threads) {
        return new CostConstants(DEFAULT_FLOPS_PER_THREAD * threads, DEFAULT_BYTES_PER_SECOND, "defaults");
    }

    CostConstants from(String newSource) {
        return new CostConstants(flopsPerSecond, bytesPerSecond, newSource);
    }
}
