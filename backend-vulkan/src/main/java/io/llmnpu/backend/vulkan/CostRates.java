package io.llmnpu.backend.vulkan;

/**
 * The rates the Vulkan cost model prices ops with, and where they came from (shown by {@code llmnpu
 * backends}).
 *
 * @param flopsPerSecond  sustained rate of the prefill GEMM shader
 * @param bytesPerSecond  sustained weight read rate of the decode matrix-vector shader
 * @param dispatchSeconds cost of one dispatch in a recorded command buffer (launch and barrier)
 * @param source          "measured now", "cached &lt;file&gt;" or "defaults"
 */
public record CostRates(double flopsPerSecond, double bytesPerSecond, double dispatchSeconds, String source) {

    public CostRates {
        if (!(flopsPerSecond > 0) || !Double.isFinite(flopsPerSecond) || !(bytesPerSecond > 0)
                || !Double.isFinite(bytesPerSecond) || !(dispatchSeconds >= 0) || !Double.isFinite(dispatchSeconds)) {
            throw new IllegalArgumentException("cost rates must be positive and finite, got " + flopsPerSecond
                    + " FLOP/s, " + bytesPerSecond + " B/s, " + dispatchSeconds + " s per dispatch");
        }
    }

    /**
     * Fixed rates by kind of device, used when nothing is measured: a CPU implementation of Vulkan
     * (lavapipe) near a CPU core's float rate, integrated GPUs at phone/laptop class, discrete GPUs
     * at desktop class.
     */
    static CostRates defaults(DeviceInfo info) {
        if (info.isCpu()) {
            return new CostRates(10e9, 8e9, 30e-6, "defaults");
        }
        if (info.isDiscreteGpu()) {
            return new CostRates(5e12, 300e9, 5e-6, "defaults");
        }
        return new CostRates(300e9, 30e9, 10e-6, "defaults");
    }

    CostRates from(String newSource) {
        return new CostRates(flopsPerSecond, bytesPerSecond, dispatchSeconds, newSource);
    }
}
