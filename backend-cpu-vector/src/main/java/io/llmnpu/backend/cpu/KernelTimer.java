package io.llmnpu.backend.cpu;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;

/**
 * Times a kernel for a cost calibration: the fastest of repeated runs, after a warm-up. Vector API code
 * runs two orders of magnitude slower until C2 has compiled it, through intermediate tiers, and on a
 * busy machine that takes seconds; a fixed warm-up is either too short there or wasted elsewhere. So
 * the warm-up lasts at least a minimum and then until the JIT has compiled nothing for
 * {@value #QUIET_NANOS} ns (the kernel's code has settled), up to {@value #MAX_WARMUP_NANOS} ns. The
 * fastest run filters out interruptions by other processes.
 */
public final class KernelTimer {

    static final long QUIET_NANOS = 300_000_000L;
    static final long MAX_WARMUP_NANOS = 6_000_000_000L;
    private static final int MIN_RUNS = 3;
    private static final int MAX_RUNS = 100_000;

    private KernelTimer() {
    }

    /** Runs {@code run} until the JIT has settled (at least {@code minWarmupNanos}). */
    public static void warmUp(Runnable run, long minWarmupNanos) {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        boolean watchJit = jit != null && jit.isCompilationTimeMonitoringSupported();
        long start = System.nanoTime();
        long compiled = watchJit ? jit.getTotalCompilationTime() : 0;
        long quietSince = start;
        while (true) {
            run.run();
            long now = System.nanoTime();
            if (watchJit && jit.getTotalCompilationTime() != compiled) {
                compiled = jit.getTotalCompilationTime();
                quietSince = now;
            }
            if (now - start >= MAX_WARMUP_NANOS || (now - start >= minWarmupNanos && now - quietSince >= QUIET_NANOS)) {
                return;
            }
        }
    }

    /** The fastest of the runs in a window of {@code measureNanos} (at least three), in nanoseconds. */
    public static long fastestNanos(Runnable run, long measureNanos) {
        long end = System.nanoTime() + measureNanos;
        long best = Long.MAX_VALUE;
        for (int i = 0; i < MAX_RUNS && (i < MIN_RUNS || System.nanoTime() < end); i++) {
            long start = System.nanoTime();
            run.run();
            best = Math.min(best, System.nanoTime() - start);
        }
        return Math.max(best, 1);
    }
}
