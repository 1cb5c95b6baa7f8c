package io.llmnpu.backend.cpu;

/**
 * The two rates a cost model prices ops with, for all of the backend's threads together, and where
 * they came from (shown by {@code llmnpu backends}). For the Vector API kernels these are the F32 rate
 * of the prefill GEMM and the read rate of the decode matvec; a {@link MatrixEngine} measures its own
 * arithmetic (e.g. int8 operations) and memory passes.
 *
 * @param flopsPerSecond sustained arithmetic rate (operations a second; a multiply-add counts as two)
 * @param bytesPerSecond sustained rate of the memory-bound work (bytes a second)
 * @param source         "measured now", "cached &lt;file&gt;" or "defaults"
 */
public record CostConstants(double flopsPerSecond, double bytesPerSecond, String source) {

    /** The fixed rates used when nothing is measured: about 20 GFLOP/s per thread and 10 GB/s. */
    static final double DEFAULT_FLOPS_PER_THREAD = 20e9;
    static final double DEFAULT_BYTES_PER_SECOND = 10e9;

    public CostConstants {
        if (!(flopsPerSecond > 0) || !Double.isFinite(flopsPerSecond)
                || !(bytesPerSecond > 0) || !Double.isFinite(bytesPerSecond)) {
            throw new IllegalArgumentException("cost rates must be positive and finite, got "
                    + flopsPerSecond + " FLOP/s and " + bytesPerSecond + " B/s");
        }
    }

    static CostConstants defaults(int threads) {
        return new CostConstants(DEFAULT_FLOPS_PER_THREAD * threads, DEFAULT_BYTES_PER_SECOND, "defaults");
    }

    public CostConstants from(String newSource) {
        return new CostConstants(flopsPerSecond, bytesPerSecond, newSource);
    }
}
