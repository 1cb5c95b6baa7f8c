package io.llmnpu.runtime.bench;

import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything one {@code bench} run measured.
 *
 * @param started  when the run began
 * @param plan     what was asked for
 * @param results  one entry per test and configuration, in run order
 * @param memory   peak memory while each model was benchmarked, by model file
 * @param machine  where it ran (CPU, cores, Java, OS)
 * @param bandwidth measured memory read bandwidth in bytes/s, by thread count (see {@link MemoryBandwidth})
 */
public record BenchReport(Instant started, BenchPlan plan, List<BenchResult> results, Map<String, PeakMemory> memory,
                          Map<String, String> machine, Map<Integer, Double> bandwidth) {
    public BenchReport {
        results = List.copyOf(results);
        memory = Collections.unmodifiableMap(new LinkedHashMap<>(memory));
        machine = Collections.unmodifiableMap(new LinkedHashMap<>(machine));
        bandwidth = Collections.unmodifiableMap(new LinkedHashMap<>(bandwidth));
    }

    /**
     * The decode speed memory allows for {@code r}: measured bandwidth at its thread count over the
     * bytes a token reads ({@link BenchModel#decodeBytesPerToken}); NaN for prefill tests or when the
     * bandwidth was not measured.
     */
    public double boundTokensPerSecond(BenchResult r) {
        Double bytesPerSecond = bandwidth.get(r.threads());
        if (r.isPrefill() || bytesPerSecond == null) {
            return Double.NaN;
        }
        return bytesPerSecond / r.model().decodeBytesPerToken(r.genTokens());
    }

    /** Decode speed of {@code r} as a percentage of {@link #boundTokensPerSecond}; NaN where that is. */
    public double percentOfBound(BenchResult r) {
        return 100 * r.meanTokensPerSecond() / boundTokensPerSecond(r);
    }
}
