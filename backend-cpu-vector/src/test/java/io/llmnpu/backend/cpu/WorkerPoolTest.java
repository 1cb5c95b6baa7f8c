package io.llmnpu.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.BackendException;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.Test;

/** The parallel-for: every index once, failures reach the caller, nesting and concurrency, shutdown. */
class WorkerPoolTest {

    private static void assertEachIndexOnce(AtomicIntegerArray hits) {
        for (int i = 0; i < hits.length(); i++) {
            assertEquals(1, hits.get(i), "index " + i + " must run exactly once");
        }
    }

    @RepeatedTest(10)
    void coversEveryIndexExactlyOnce(RepetitionInfo info) {
        Random rnd = new Random(info.getCurrentRepetition());
        try (WorkerPool pool = new WorkerPool(1 + rnd.nextInt(5), "test-", 20_000)) {
            for (int round = 0; round < 50; round++) {
                int count = rnd.nextInt(2000);
                AtomicIntegerArray hits = new AtomicIntegerArray(count);
                pool.forRange(count, 1 + rnd.nextInt(64), (from, to) -> {
                    for (int i = from; i < to; i++) {
                        hits.incrementAndGet(i);
                    }
                });
                assertEachIndexOnce(hits);
            }
        }
    }

    /** Chunks per thread as asked, at most, never smaller than the grain, every index once. */
    @RepeatedTest(5)
    void splitsIntoTheChunksAsked(RepetitionInfo info) {
        Random rnd = new Random(100 + info.getCurrentRepetition());
        int threads = 2 + rnd.nextInt(3);
        try (WorkerPool pool = new WorkerPool(threads, "test-", 20_000)) {
            for (int round = 0; round < 50; round++) {
                int count = 1 + rnd.nextInt(3000);
                int grain = 1 + rnd.nextInt(40);
                int perThread = 1 + rnd.nextInt(20);
                AtomicIntegerArray hits = new AtomicIntegerArray(count);
                AtomicInteger chunks = new AtomicInteger();
                AtomicInteger smallest = new AtomicInteger(count);
                pool.forRange(count, grain, perThread, (from, to) -> {
                    chunks.incrementAndGet();
                    smallest.accumulateAndGet(to - from, Math::min);
                    for (int i = from; i < to; i++) {
                        hits.incrementAndGet(i);
                    }
                });
                assertEachIndexOnce(hits);
                int expected = (int) Math.min((count + grain - 1) / grain, (long) threads * perThread);
                assertEquals(expected, chunks.get(), "chunks of count " + count + ", grain " + grain + ", "
                        + perThread + " per thread on " + threads + " threads");
                if (expected > 1) {
                    assertTrue(smallest.get() >= Math.min(grain, count) / 2,
                            "a chunk of " + smallest.get() + " indices, grain " + grain);
                }
            }
        }
    }

    @Test
    void usesWorkersAndTheCaller() {
        try (WorkerPool pool = new WorkerPool(3, "test-", 1_000_000)) {
            Set<Thread> seen = ConcurrentHashMap.newKeySet();
            for (int round = 0; round < 200 && seen.size() < 3; round++) {
                pool.forRange(64, 1, (from, to) -> {
                    seen.add(Thread.currentThread());
                    long until = System.nanoTime() + 20_000;
                    while (System.nanoTime() < until) {
                        Thread.onSpinWait();
                    }
                });
            }
            assertTrue(seen.contains(Thread.currentThread()), "the caller takes a share");
            assertTrue(seen.stream().anyMatch(t -> t.getName().startsWith("test-")), "workers take shares");
        }
    }

    @Test
    void failureReachesTheCaller() {
        try (WorkerPool pool = new WorkerPool(4, "test-", 20_000)) {
            IllegalStateException boom = new IllegalStateException("boom");
            IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> pool.forRange(1000, 1,
                    (from, to) -> {
                        if (from <= 500 && 500 < to) {
                            throw boom;
                        }
                    }));
            assertSame(boom, thrown);
            AtomicIntegerArray hits = new AtomicIntegerArray(100);
            pool.forRange(100, 1, (from, to) -> {
                for (int i = from; i < to; i++) {
                    hits.incrementAndGet(i);
                }
            });
            assertEachIndexOnce(hits);
        }
    }

    @Test
    void nestedAndConcurrentLoopsComplete() throws InterruptedException {
        try (WorkerPool pool = new WorkerPool(3, "test-", 20_000)) {
            AtomicIntegerArray hits = new AtomicIntegerArray(40 * 30);
            Runnable nested = () -> pool.forRange(40, 1, (from, to) -> {
                for (int i = from; i < to; i++) {
                    int row = i;
                    pool.forRange(30, 1, (a, b) -> {
                        for (int j = a; j < b; j++) {
                            hits.incrementAndGet(row * 30 + j);
                        }
                    });
                }
            });
            AtomicIntegerArray other = new AtomicIntegerArray(5000);
            Thread second = Thread.ofPlatform().start(() -> {
                for (int r = 0; r < 20; r++) {
                    int base = r * 250;
                    pool.forRange(250, 1, (from, to) -> {
                        for (int i = from; i < to; i++) {
                            other.incrementAndGet(base + i);
                        }
                    });
                }
            });
            nested.run();
            second.join();
            assertEachIndexOnce(hits);
            assertEachIndexOnce(other);
        }
    }

    @Test
    void closeStopsTheThreads() {
        WorkerPool pool = new WorkerPool(4, "llmnpu-cpu-", 20_000);
        assertEquals(3, pool.threads().size(), "three workers plus the caller");
        for (Thread t : pool.threads()) {
            assertTrue(t.isAlive() && t.isDaemon(), t + " runs as a daemon");
            assertTrue(t.getName().matches("llmnpu-cpu-\\d+"), t.getName());
        }
        pool.forRange(100, 1, (from, to) -> { });
        pool.close();
        for (Thread t : pool.threads()) {
            assertFalse(t.isAlive(), t + " must have stopped");
        }
        assertThrows(BackendException.class, () -> pool.forRange(100, 1, (from, to) -> { }));
    }
}
