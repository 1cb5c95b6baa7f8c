package io.llmnpu.runtime.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The machine's sequential read bandwidth from DRAM with a given number of threads: what bounds decode,
 * which reads every weight once per token. Each thread sums its own share of a buffer far larger than
 * the caches; the best of several passes is kept (a pass another process slowed down says nothing about
 * the memory). About a second per thread count. Needs {@code --add-modules jdk.incubator.vector}, as the
 * launcher gives.
 */
public final class MemoryBandwidth {
    /** Far above any last-level cache, and below the peak memory of the models it is a bound for. */
    private static final long BUFFER_BYTES = 256L << 20;
    private static final int PASSES = 6;

    private MemoryBandwidth() {
    }

    /** Bytes per second that {@code threads} threads read together. */
    public static double bytesPerSecond(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "llmnpu-bandwidth-probe");
            t.setDaemon(true);
            return t;
        });
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buffer = arena.allocate(BUFFER_BYTES, 4096);
            buffer.fill((byte) 1); // touch every page, so the passes measure reads, not page faults
            long share = BUFFER_BYTES / threads / 64 * 64;
            double best = 0;
            for (int pass = 0; pass < PASSES; pass++) {
                List<Future<Float>> parts = new ArrayList<>();
                long t0 = System.nanoTime();
                for (int i = 0; i < threads; i++) {
                    MemorySegment slice = buffer.asSlice(i * share, share);
                    parts.add(pool.submit(() -> sum(slice)));
                }
                float check = 0;
                for (Future<Float> f : parts) {
                    check += f.get();
                }
                long ns = System.nanoTime() - t0;
                if (check == 42f) {
                    Thread.onSpinWait(); // keeps the sums alive
                }
                best = Math.max(best, share * (double) threads * 1e9 / ns);
            }
            return best;
        } catch (ExecutionException e) {
            throw new IllegalStateException("memory bandwidth probe failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("memory bandwidth probe interrupted", e);
        } finally {
            pool.shutdownNow();
        }
    }

    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;

    /**
     * Vector loads into four independent sums, so the loop is bound by the loads rather than by the
     * addition latency (scalar loads reach a fraction of what the memory delivers).
     */
    private static float sum(MemorySegment s) {
        FloatVector a0 = FloatVector.zero(FLOATS);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        long step = FLOATS.vectorByteSize();
        long end = s.byteSize() - 4 * step + 1;
        for (long o = 0; o < end; o += 4 * step) {
            a0 = a0.add(FloatVector.fromMemorySegment(FLOATS, s, o, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(FloatVector.fromMemorySegment(FLOATS, s, o + step, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(FloatVector.fromMemorySegment(FLOATS, s, o + 2 * step, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(FloatVector.fromMemorySegment(FLOATS, s, o + 3 * step, ByteOrder.LITTLE_ENDIAN));
        }
        return a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
    }
}
