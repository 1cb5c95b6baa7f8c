package io.llmnpu.tck;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.management.JMException;
import javax.management.ObjectName;

/**
 * Looks at the process from outside a backend: which threads are alive and how much memory the
 * process holds, so the suite can tell whether a backend leaks either.
 *
 * <p>Threads are compared as sets of {@link Thread} objects, so a thread the JVM starts in between
 * does not count as the backend's. Threads the JVM owns are left out: those in the system thread
 * group and in the group of the JDK's innocuous threads (reference handling, the common cleaner),
 * and the workers of the common fork-join pool, which linger for a while after any use.
 *
 * <p>Memory is the resident set outside the Java heap: FFM arena allocations and native driver memory
 * show up in the resident set but in no JVM memory pool, while the heap's resident size moves with
 * garbage and GC sizing decisions that say nothing about a leak. On Linux with a HotSpot collector
 * that reports its address range (Serial, Parallel, G1) the resident sizes of all mappings in
 * {@code /proc/self/smaps} outside that range are summed; elsewhere on Linux the resident set size
 * from {@code /proc/self/status} less the committed heap is the (coarser) fallback.
 */
final class ProcessProbe {
    private static final Path STATUS = Path.of("/proc/self/status");
    private static final Path SMAPS = Path.of("/proc/self/smaps");
    private static final Pattern HEX_ADDRESS = Pattern.compile("0x([0-9a-fA-F]+)");
    private static final Pattern MAPPING = Pattern.compile("([0-9a-f]+)-([0-9a-f]+) ");

    private ProcessProbe() {
    }

    /** Live threads other than the JVM's own. */
    static Set<Thread> liveThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(Thread::isAlive)
                .filter(t -> !ownedByJvm(t))
                .collect(Collectors.toUnmodifiableSet());
    }

    /** Threads alive now that were not in {@code baseline}. */
    static List<Thread> newThreads(Set<Thread> baseline) {
        return liveThreads().stream().filter(t -> !baseline.contains(t)).toList();
    }

    /**
     * Waits up to {@code timeoutMillis} for every thread started since {@code baseline} to end, and
     * returns those still alive (empty when all ended).
     */
    static List<Thread> awaitNoNewThreads(Set<Thread> baseline, long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        List<Thread> remaining = newThreads(baseline);
        while (!remaining.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(20);
            remaining = newThreads(baseline);
        }
        return remaining;
    }

    static String describe(List<Thread> threads) {
        return threads.stream().map(t -> "'" + t.getName() + "' (" + t.getState() + (t.isDaemon() ? ", daemon" : "") + ")")
                .collect(Collectors.joining(", "));
    }

    /**
     * Resident memory outside the Java heap, in bytes, after a garbage collection; empty where the
     * platform does not report resident memory.
     */
    static OptionalLong nonHeapResidentBytes() throws InterruptedException {
        settle();
        Optional<long[]> heap = javaHeapRange();
        if (heap.isPresent() && Files.isReadable(SMAPS)) {
            OptionalLong outside = residentOutside(heap.get()[0], heap.get()[1]);
            if (outside.isPresent()) {
                return outside;
            }
        }
        OptionalLong rss = statusResidentBytes();
        if (rss.isEmpty()) {
            return rss;
        }
        return OptionalLong.of(rss.getAsLong() - ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted());
    }

    /** Lets freed memory be returned: two collections (the second runs cleaners the first queued) and a pause. */
    static void settle() throws InterruptedException {
        System.gc();
        Thread.sleep(50);
        System.gc();
        Thread.sleep(50);
    }

    /** The lowest and highest address the collector reports for the heap (HotSpot's GC.heap_info). */
    private static Optional<long[]> javaHeapRange() {
        try {
            Object info = ManagementFactory.getPlatformMBeanServer().invoke(
                    new ObjectName("com.sun.management:type=DiagnosticCommand"), "gcHeapInfo",
                    new Object[] {null}, new String[] {String[].class.getName()});
            Matcher m = HEX_ADDRESS.matcher(String.valueOf(info));
            long lo = Long.MAX_VALUE;
            long hi = Long.MIN_VALUE;
            int found = 0;
            while (m.find()) {
                long address = Long.parseUnsignedLong(m.group(1), 16);
                lo = Math.min(lo, address);
                hi = Math.max(hi, address);
                found++;
            }
            return found >= 2 && lo < hi ? Optional.of(new long[] {lo, hi}) : Optional.empty();
        } catch (JMException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** Sum of the Rss of every mapping in smaps that does not overlap [lo, hi). */
    private static OptionalLong residentOutside(long lo, long hi) {
        long total = 0;
        boolean outside = false;
        try {
            for (String line : Files.readAllLines(SMAPS)) {
                Matcher header = MAPPING.matcher(line);
                if (header.lookingAt()) {
                    long start = Long.parseUnsignedLong(header.group(1), 16);
                    long end = Long.parseUnsignedLong(header.group(2), 16);
                    outside = end <= lo || start >= hi;
                } else if (outside && line.startsWith("Rss:")) {
                    total += kilobytes(line) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(total);
    }

    private static OptionalLong statusResidentBytes() {
        if (!Files.isReadable(STATUS)) {
            return OptionalLong.empty();
        }
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith("VmRSS:")) {
                    return OptionalLong.of(kilobytes(line) * 1024);
                }
            }
        } catch (IOException | NumberFormatException e) {
            return OptionalLong.empty();
        }
        return OptionalLong.empty();
    }

    /** The number in a "Name:   1234 kB" line. */
    private static long kilobytes(String line) {
        return Long.parseLong(line.substring(line.indexOf(':') + 1).trim().split("\\s+")[0]);
    }

    private static boolean ownedByJvm(Thread t) {
        if (t instanceof ForkJoinWorkerThread w && w.getPool() == ForkJoinPool.commonPool()) {
            return true;
        }
        ThreadGroup group = t.getThreadGroup();
        return group == null || group.getParent() == null || group.getName().equals("InnocuousThreadGroup");
    }
}
