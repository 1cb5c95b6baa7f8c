package io.llmnpu.backend.cpu;

import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.util.Map;

/**
 * Measures the two cost rates by running real one-op graphs on the backend's own device and threads:
 * an F32 Linear of {@value #GEMM_ROWS} token rows (the tiled GEMM of prefill) for the FLOP rate, and a
 * one-row F32 Linear over a weight larger than typical caches (the decode matvec) for the streaming
 * read rate. Each is warmed up first so the JIT has compiled the kernels, then the best of the timed
 * runs counts, which filters out interruptions by other processes. About 1.5 s in all.
 */
final class KernelRateProbe {

    static final int GEMM_ROWS = 64;
    static final int GEMM_K = 512;
    static final int GEMM_N = 512;
    /** 32 MiB of F32 weights: beyond the last-level cache of most client CPUs, so reads come from memory. */
    static final int STREAM_K = 4096;
    static final int STREAM_N = 2048;
    /** Shape of the warm-up products. */
    private static final int WARMUP_K = 128;
    private static final int WARMUP_N = 48;
    /**
     * Warm-up time per probe. The GEMM's Vector API code runs about a hundred times slower until C2
     * has compiled it, which took about a second of small runs on a busy two-core machine (a few
     * hundred runs, through several slower plateaus, so no early stop on "no more improvement" is
     * safe); the row-dot path compiles sooner. The result is cached per machine, so this is paid once.
     */
    private static final long GEMM_WARMUP_NANOS = 1_200_000_000L;
    private static final long MATVEC_WARMUP_NANOS = 300_000_000L;
    private static final long MEASURE_NANOS = 100_000_000L;
    private static final long SETTLE_NANOS = 300_000_000L;
    private static final long MAX_WARMUP_NANOS = 8_000_000_000L;
    private static final int MIN_RUNS = 3;
    private static final int MAX_RUNS = 5000;

    private KernelRateProbe() {
    }

    static CostConstants measure(CpuDevice device) {
        // A shared arena: the graph runs single-threaded on tensors of a confined one.
        try (Arena arena = Arena.ofShared()) {
            double gemmSeconds = bestSeconds(device, arena, GEMM_ROWS, GEMM_K, GEMM_N, GEMM_WARMUP_NANOS);
            double streamSeconds = bestSeconds(device, arena, 1, STREAM_K, STREAM_N, MATVEC_WARMUP_NANOS);
            double flops = 2.0 * GEMM_ROWS * GEMM_K * GEMM_N / gemmSeconds;
            double bytes = 4.0 * ((double) STREAM_K * STREAM_N + STREAM_K + STREAM_N) / streamSeconds;
            return new CostConstants(flops, bytes, "measured now");
        }
    }

    /**
     * The fastest run of out[rows, n] = x[rows, k] · w[n, k]^T. A small product of the same row count
     * (same kernel path) runs first: the Vector API is two orders of magnitude slower until the JIT has
     * compiled it, and small runs reach the compile thresholds in a fraction of the time large ones take.
     */
    private static double bestSeconds(CpuDevice device, Arena arena, int rows, int k, int n, long warmupNanos) {
        // Warm up for the given time, and on a machine so busy that the JIT is still compiling by then,
        // until it has compiled nothing for a while (at most MAX_WARMUP_NANOS).
        long start = System.nanoTime();
        timeRuns(device, arena, rows, WARMUP_K, WARMUP_N, warmupNanos);
        long compiled = compilationMillis();
        while (System.nanoTime() - start < MAX_WARMUP_NANOS) {
            timeRuns(device, arena, rows, WARMUP_K, WARMUP_N, SETTLE_NANOS);
            long now = compilationMillis();
            if (now == compiled) {
                break;
            }
            compiled = now;
        }
        return timeRuns(device, arena, rows, k, n, MEASURE_NANOS) / 1e9;
    }

    /** Time the JIT has spent compiling so far; -1 where the JVM does not say. */
    private static long compilationMillis() {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit.getTotalCompilationTime() : -1;
    }

    /** Runs the product for about {@code budgetNanos} (at least {@link #MIN_RUNS} times); the fastest run. */
    private static long timeRuns(CpuDevice device, Arena arena, int rows, int k, int n, long budgetNanos) {
        SubgraphBuilder b = new SubgraphBuilder("cost-probe");
        Value x = b.input("x", DType.F32, Shape.of(rows, k));
        Tensor w = filled(Tensor.allocate(arena, "w", DType.F32, Shape.of(n, k)));
        Value y = b.value("y", DType.F32, Shape.of(rows, n));
        b.add(new Op.Linear(x, w, y));
        b.output(y);
        Map<Value, Tensor> bindings = Map.of(
                x, filled(Tensor.allocate(arena, "x", DType.F32, x.shape())),
                y, Tensor.allocate(arena, "y", DType.F32, y.shape()));
        try (CompiledGraph g = device.compile(b.build())) {
            long end = System.nanoTime() + budgetNanos;
            long best = Long.MAX_VALUE;
            for (int i = 0; i < MAX_RUNS && (i < MIN_RUNS || System.nanoTime() < end); i++) {
                long start = System.nanoTime();
                g.execute(bindings);
                best = Math.min(best, System.nanoTime() - start);
            }
            return Math.max(best, 1);
        }
    }

    /** Small non-zero values, so that no special-case (zero or denormal) arithmetic is timed. */
    private static Tensor filled(Tensor t) {
        long n = t.shape().elements();
        for (long i = 0; i < n; i++) {
            t.setFloat(i, 0.25f + (i % 7) * 0.125f);
        }
        return t;
    }
}
