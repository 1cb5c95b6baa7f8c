package io.llmnpu.runtime.bench;

import java.util.Arrays;
import java.util.Objects;

/**
 * The timed runs of one test on one configuration.
 *
 * @param model        the model
 * @param backend      backend and device, e.g. {@code cpu/cpu0}
 * @param threads      kernel threads
 * @param chunk        prefill chunk size; 0 for decode tests, which do not use it
 * @param promptTokens prompt length of a prefill test, else 0
 * @param genTokens    generated tokens of a decode test, else 0
 * @param samplesNanos duration of each timed run
 * @param flopsPerRun  useful floating-point operations of one run (see {@link ModelFlops})
 */
public record BenchResult(BenchModel model, String backend, int threads, int chunk, int promptTokens, int genTokens,
                          long[] samplesNanos, double flopsPerRun) {

    public BenchResult {
        samplesNanos = samplesNanos.clone();
        if (samplesNanos.length == 0) {
            throw new IllegalArgumentException("no samples");
        }
    }

    @Override
    public long[] samplesNanos() {
        return samplesNanos.clone();
    }

    /** llama-bench's test name: {@code pp512} or {@code tg128}. */
    public String test() {
        return promptTokens > 0 ? "pp" + promptTokens : "tg" + genTokens;
    }

    public boolean isPrefill() {
        return promptTokens > 0;
    }

    /** Tokens processed in one run. */
    public int tokens() {
        return promptTokens + genTokens;
    }

    /** Tokens per second of each run. */
    public double[] samplesTokensPerSecond() {
        return Arrays.stream(samplesNanos).mapToDouble(ns -> tokens() * 1e9 / ns).toArray();
    }

    public double meanTokensPerSecond() {
        return Stats.mean(samplesTokensPerSecond());
    }

    public double stddevTokensPerSecond() {
        return Stats.stddev(samplesTokensPerSecond());
    }

    public double meanNanos() {
        return Stats.mean(Arrays.stream(samplesNanos).asDoubleStream().toArray());
    }

    public double stddevNanos() {
        return Stats.stddev(Arrays.stream(samplesNanos).asDoubleStream().toArray());
    }

    /** Achieved GFLOP/s over the mean run time. */
    public double gflopsPerSecond() {
        return flopsPerRun / meanNanos();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BenchResult r && model.equals(r.model) && backend.equals(r.backend) && threads == r.threads
                && chunk == r.chunk && promptTokens == r.promptTokens && genTokens == r.genTokens
                && Arrays.equals(samplesNanos, r.samplesNanos) && flopsPerRun == r.flopsPerRun;
    }

    @Override
    public int hashCode() {
        return 31 * Objects.hash(model, backend, threads, chunk, promptTokens, genTokens, flopsPerRun)
                + Arrays.hashCode(samplesNanos);
    }

    @Override
    public String toString() {
        return model.name() + " " + backend + " t=" + threads + " c=" + chunk + " " + test() + " " + Arrays.toString(samplesNanos);
    }
}
