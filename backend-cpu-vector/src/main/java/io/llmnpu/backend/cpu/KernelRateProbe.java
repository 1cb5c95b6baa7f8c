package io.llmnpu.backend.cpu;

import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Map;

/**
 * Measures the two cost rates by running real one-op graphs on the backend's own device and threads:
 * an F32 Linear of {@value #GEMM_ROWS} token rows (the tiled GEMM of prefill) for the FLOP rate, and a
 * one-row F32 Linear over a weight larger than typical caches (the decode matvec) for the streaming
 * read rate. Each is warmed up first so the JIT has compiled the kernels, then the best of the timed
 * runs counts, which filters out interruptions by other processes. About 2 s in all, more on a busy
 * machine, whose JIT takes longer to compile the kernels.
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
     * safe); the row-dot path compiles sooner. These are minimums: the warm-up goes on until the JIT
     * has settled ({@link KernelTimer}). The result is cached per machine, so this is paid once.
     */
    private static final long GEMM_WARMUP_NANOS = 1_200_000_000L;
    private static final long MATVEC_WARMUP_NANOS = 300_000_000L;
    private static final long MEASURE_NANOS = 100_000_000L;

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
     * (same kernel path) warms up first: the Vector API is two orders of magnitude slower until the JIT
     * has compiled it, and small runs reach the compile thresholds in a fraction of the time large ones
     * take; then the large one until the JIT has settled on it too ({@link KernelTimer}).
     */
    private static double bestSeconds(CpuDevice device, Arena arena, int rows, int k, int n, long warmupNanos) {
        try (Product small = new Product(device, arena, rows, WARMUP_K, WARMUP_N);
             Product large = new Product(device, arena, rows, k, n)) {
            KernelTimer.warmUp(small, warmupNanos);
            KernelTimer.warmUp(large, 0);
            return KernelTimer.fastestNanos(large, MEASURE_NANOS) / 1e9;
        }
    }

    /** One compiled product with its tensors, run by {@link #run()}. */
    private static final class Product implements Runnable, AutoCloseable {
        private final CompiledGraph graph;
        private final Map<Value, Tensor> bindings;

        Product(CpuDevice device, Arena arena, int rows, int k, int n) {
            SubgraphBuilder b = new SubgraphBuilder("cost-probe");
            Value x = b.input("x", DType.F32, Shape.of(rows, k));
            Tensor w = filled(Tensor.allocate(arena, "w", DType.F32, Shape.of(n, k)));
            Value y = b.value("y", DType.F32, Shape.of(rows, n));
            b.add(new Op.Linear(x, w, y));
            b.output(y);
            bindings = Map.of(
                    x, filled(Tensor.allocate(arena, "x", DType.F32, x.shape())),
                    y, Tensor.allocate(arena, "y", DType.F32, y.shape()));
            graph = device.compile(b.build());
        }

        @Override
        public void run() {
            graph.execute(bindings);
        }

        @Override
        public void close() {
            graph.close();
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
