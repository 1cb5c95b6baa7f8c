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
 */
public record BenchReport(Instant started, BenchPlan plan, List<BenchResult> results, Map<String, PeakMemory> memory,
                          Map<String, String> machine) {
    public BenchReport {
        results = List.copyOf(results);
        memory = Collections.unmodifiableMap(new LinkedHashMap<>(memory));
        machine = Collections.unmodifiableMap(new LinkedHashMap<>(machine));
    }
}
