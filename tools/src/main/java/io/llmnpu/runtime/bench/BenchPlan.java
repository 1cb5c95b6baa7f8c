package io.llmnpu.runtime.bench;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * What {@code bench} measures: every combination of model, backend, thread count and chunk size,
 * each running a prefill test per prompt size and (independently of the chunk size) one decode test.
 *
 * @param models       model files
 * @param promptSizes  prompt lengths for prefill tests ({@code ppN}); may be empty
 * @param genTokens    tokens for the decode test ({@code tgN}); 0 skips it
 * @param repetitions  timed runs per test
 * @param threads      kernel thread counts
 * @param chunks       prefill chunk sizes
 * @param backends     backend names; an empty string is the default backend
 * @param warmup       run each test once untimed first (compiles graphs, warms the JIT)
 * @param seed         seed of the random prompt token ids
 * @param npu          NPU backend whose prompt runs are measured too ({@code ppN} rows on the NPU path), or null
 * @param calibration  calibration for the NPU rows; null to look beside the model and in the cache, else
 *                     to calibrate on random tokens (speed does not depend on the scales)
 * @param trace        where to write the Gantt chart of the last NPU prompt run, or null
 */
public record BenchPlan(List<Path> models, List<Integer> promptSizes, int genTokens, int repetitions,
                        List<Integer> threads, List<Integer> chunks, List<String> backends, boolean warmup,
                        long seed, String npu, Path calibration, Path trace) {

    /** A plan without NPU rows. */
    public BenchPlan(List<Path> models, List<Integer> promptSizes, int genTokens, int repetitions,
                     List<Integer> threads, List<Integer> chunks, List<String> backends, boolean warmup, long seed) {
        this(models, promptSizes, genTokens, repetitions, threads, chunks, backends, warmup, seed, null, null, null);
    }

    public BenchPlan {
        models = List.copyOf(models);
        promptSizes = List.copyOf(promptSizes);
        threads = List.copyOf(threads);
        chunks = List.copyOf(chunks);
        backends = backends.stream().map(b -> Objects.requireNonNullElse(b, "")).toList();
        npu = npu == null || npu.isBlank() || npu.equalsIgnoreCase("off") ? null : npu;
        if (models.isEmpty()) {
            throw new IllegalArgumentException("no model to benchmark");
        }
        if (promptSizes.isEmpty() && genTokens == 0) {
            throw new IllegalArgumentException("nothing to measure: no prompt sizes and no generated tokens");
        }
        for (int p : promptSizes) {
            if (p < 1) {
                throw new IllegalArgumentException("prompt size " + p + " must be at least 1");
            }
        }
        if (genTokens < 0) {
            throw new IllegalArgumentException("generated tokens must be >= 0, got " + genTokens);
        }
        if (repetitions < 1) {
            throw new IllegalArgumentException("repetitions must be at least 1, got " + repetitions);
        }
        if (threads.isEmpty() || threads.stream().anyMatch(t -> t < 0)) {
            throw new IllegalArgumentException("thread counts must be >= 0 (0 = one per core): " + threads);
        }
        if (chunks.isEmpty() || chunks.stream().anyMatch(c -> c < 1 || c > 4096)) {
            throw new IllegalArgumentException("chunk sizes must be in 1..4096: " + chunks);
        }
        if (backends.isEmpty()) {
            throw new IllegalArgumentException("no backend to run on");
        }
    }

    /** Positions a session needs for the longest test. */
    public int contextNeeded() {
        int p = promptSizes.stream().mapToInt(Integer::intValue).max().orElse(0);
        return Math.max(1, Math.max(p, genTokens));
    }
}
