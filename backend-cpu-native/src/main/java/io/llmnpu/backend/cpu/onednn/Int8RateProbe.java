package io.llmnpu.backend.cpu.onednn;

import io.llmnpu.backend.cpu.CostConstants;
import io.llmnpu.backend.cpu.KernelTimer;
import io.llmnpu.backend.cpu.ParallelLoop;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Measures the two rates the oneDNN engine prices its products with, on the backend's own threads: the
 * int8 matmul at a prefill shape ({@value #ROWS} x {@value #K} times {@value #K} x {@value #N}, operations
 * a second), and the Java pass that turns F32 activations into codes ({@value #PASS_ROWS} rows, bytes of
 * activations a second).
 * The best of repeated runs counts, which filters out interruptions by other processes. It takes about
 * a second, or a few on a busy machine (mostly the JIT compiling the pass), once per machine: the
 * result is cached.
 */
final class Int8RateProbe {

    /**
     * Part of the cache key: a new probe invalidates rates an earlier one cached (version 1 timed the
     * activation pass before the JIT had compiled it, caching rates a thousand times too low).
     */
    static final int VERSION = 2;

    static final int ROWS = 256;
    static final int K = 1024;
    static final int N = 1024;
    /** Rows of the timed activation pass (two chunks of work, so both threads of a pair take part). */
    static final int PASS_ROWS = 64;
    private static final long WARMUP_NANOS = 300_000_000L;
    private static final long MEASURE_NANOS = 100_000_000L;

    private Int8RateProbe() {
    }

    static CostConstants measure(OneDnnContext context, ParallelLoop loop) {
        try (Arena arena = Arena.ofShared();
             OneDnnMatmul matmul = context.int8Matmul(ROWS, K, N)) {
            MemorySegment codes = arena.allocate((long) ROWS * K, 64);
            MemorySegment sums = arena.allocate((long) ROWS * N * Integer.BYTES, 64);
            MemorySegment weights = arena.allocate((long) N * K, 64);
            for (long i = 0; i < weights.byteSize(); i++) {
                weights.set(ValueLayout.JAVA_BYTE, i, (byte) (i % 251 - 125));
            }
            PackedWeights packed = PackedWeights.pack(context.dnn(), context.engine(), context.threads(), weights, N, K,
                    matmul.weightsMd(), new float[N], new int[N]);
            try {
                matmul.bind(codes, packed.data(), sums);
                double matmulSeconds = best(matmul::run, WARMUP_NANOS, MEASURE_NANOS);

                MemorySegment activations = arena.allocate((long) PASS_ROWS * K * Float.BYTES, 64);
                for (long i = 0; i < (long) PASS_ROWS * K; i++) {
                    activations.setAtIndex(ValueLayout.JAVA_FLOAT, i, 0.25f + (i % 7) * 0.125f);
                }
                // Vector API code runs two orders of magnitude slower until C2 has compiled it, which
                // takes a second or more of runs on a busy two-core machine: the pass is timed on fewer
                // rows than the matmul so that the slow runs before that are short.
                TokenQuantizer quantizer = new TokenQuantizer(PASS_ROWS, K, K / 64);
                double passSeconds = best(() -> quantizer.quantize(activations, codes, loop), WARMUP_NANOS, MEASURE_NANOS);
                return new CostConstants(2.0 * ROWS * K * N / matmulSeconds, 4.0 * PASS_ROWS * K / passSeconds,
                        "measured now");
            } finally {
                packed.free();
            }
        }
    }

    /** The fastest run after a warm-up of at least {@code warmupNanos} that lets the JIT settle. */
    private static double best(Runnable run, long warmupNanos, long measureNanos) {
        KernelTimer.warmUp(run, warmupNanos);
        return KernelTimer.fastestNanos(run, measureNanos) / 1e9;
    }
}
