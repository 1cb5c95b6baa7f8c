package io.llmnpu.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.it.twin.TwinActivator;
import io.llmnpu.runtime.api.CancellationToken;
import io.llmnpu.runtime.api.GenerationRequest;
import io.llmnpu.runtime.api.LlmRuntime;
import io.llmnpu.runtime.api.RuntimeOptions;
import io.llmnpu.runtime.osgi.BackendHost;
import io.llmnpu.runtime.sampling.SamplerConfig;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.management.ObjectName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hot-plug soak: a backend bundle is plugged in and unplugged over and over while generations run
 * without a pause. Every cycle plugs the bundle, waits until a generation step runs on its device,
 * and unplugs it. Every generation must give the tokens of a plain CPU run, and afterwards threads,
 * open files, native memory, loaded classes and the framework's files must be back where they were.
 *
 * <p>CI runs {@value #DEFAULT_CYCLES} cycles; the long run is
 * {@code mvn -pl integration-tests -am -Dtest=HotPlugSoakIT -Dllmnpu.soak.cycles=1000 verify}.
 * The figures are printed as one {@code [soak]} line.
 */
class HotPlugSoakIT {
    private static final int DEFAULT_CYCLES = 50;
    private static final int WARM_UP_CYCLES = 10;
    private static final GenerationRequest REQUEST = new GenerationRequest("Once upon a time", 48,
            SamplerConfig.standard(0.8f, 40, 0.95f, 0.0f, 4242), false);

    @TempDir
    Path work;

    /** What is measured before and after the cycles. */
    record Footprint(int threads, long openFiles, long nativeBytes, long nativeBlocks, int loadedClasses,
                     long heapBytes, long heapCommitted, long jvmNativeCommitted, long rssBytes, long frameworkFiles,
                     long tempEntries) {
        String toText() {
            return String.format(Locale.ROOT, "threads %d, open files %d, native memory %d KiB in %d blocks, classes %d, "
                            + "heap %.1f MiB used of %.1f MiB committed, other JVM memory %.1f MiB committed, "
                            + "RSS %.1f MiB, framework files %d, temp entries %d", threads, openFiles,
                    nativeBytes / 1024, nativeBlocks, loadedClasses, heapBytes / 1048576.0, heapCommitted / 1048576.0,
                    jvmNativeCommitted / 1048576.0, rssBytes / 1048576.0, frameworkFiles, tempEntries);
        }
    }

    /** One-time growth of lazily sized per-thread scratch that is not a leak (see the check). */
    private static final long ONE_TIME_SCRATCH_BYTES = 64 * 1024;
    private static final int ONE_TIME_SCRATCH_BLOCKS = 16;

    @Test
    void pluggingAndUnpluggingABackendDuringGenerationLeavesNothingBehind() throws Exception {
        int cycles = Integer.getInteger("llmnpu.soak.cycles", DEFAULT_CYCLES);
        RuntimeOptions options = RuntimeOptions.of(BackendBundlesIT.model()).withThreads(2).withChunkSize(8)
                .withContextLength(128);
        int[] expected;
        try (LlmRuntime plain = LlmRuntime.open(options)) {
            expected = plain.generate(REQUEST, null, new CancellationToken()).tokens();
        }
        Path twin = BundleJars.write(Files.createDirectories(work.resolve("built")).resolve("twin.jar"), Map.of(
                "Bundle-SymbolicName", "io.llmnpu.it.twin",
                "Bundle-Version", "1.0.0",
                "Bundle-Activator", TwinActivator.class.getName(),
                "Import-Package", "io.llmnpu.api.backend,io.llmnpu.api.graph,org.osgi.framework,org.osgi.util.tracker"),
                TwinActivator.class);
        Set<Path> tempBefore = tempEntries();

        try (BackendHost host = BackendHost.start()) {
            host.install(BundleJars.cpuBundle());
            Path storage = newTempEntries(tempBefore).stream()
                    .filter(p -> p.getFileName().toString().startsWith("llmnpu-osgi-")).findFirst().orElseThrow();
            try (LlmRuntime llm = LlmRuntime.open(options, host.registry())) {
                Generations generations = new Generations(llm, expected);
                generations.start();
                for (int i = 0; i < WARM_UP_CYCLES; i++) {
                    cycle(host, llm, twin);
                }
                generations.stop();
                Footprint before = footprint(storage, llm, expected);
                generations.start();
                long t0 = System.nanoTime();
                for (int i = 0; i < cycles; i++) {
                    cycle(host, llm, twin);
                }
                double seconds = (System.nanoTime() - t0) / 1e9;
                int runs = generations.stop();
                Footprint after = footprint(storage, llm, expected);
                System.out.printf(Locale.ROOT, "[soak] %d plug/unplug cycles in %.1f s (%.1f ms each) during %d generations, "
                                + "every one with the tokens of a plain CPU run%n[soak] before: %s%n[soak] after:  %s%n",
                        cycles, seconds, 1000 * seconds / cycles, runs, before.toText(), after.toText());
                assertTrue(runs >= 1, "no generation finished during the cycles");
                assertEquals(before.threads(), after.threads(), "threads");
                assertEquals(before.openFiles(), after.openFiles(), "open file descriptors");
                // A leak grows with every cycle (a device's buffers are kilobytes to megabytes). What may grow
                // once is scratch a backend sizes lazily per worker thread, e.g. when the CPU device that
                // takes over from an unplugged one first runs the longest positions: a few blocks, bounded.
                assertTrue(after.nativeBytes() - before.nativeBytes() <= ONE_TIME_SCRATCH_BYTES,
                        "native memory allocated off the heap grew from " + before.nativeBytes() + " to "
                                + after.nativeBytes() + " bytes in " + cycles + " cycles");
                assertTrue(after.nativeBlocks() - before.nativeBlocks() <= ONE_TIME_SCRATCH_BLOCKS,
                        "native memory blocks grew from " + before.nativeBlocks() + " to " + after.nativeBlocks());
                assertEquals(before.frameworkFiles(), after.frameworkFiles(), "files in the framework's storage");
                assertEquals(before.tempEntries(), after.tempEntries(), "temporary files and folders");
                // Each cycle loads the bundle's classes anew; a leaked class loader would keep ~10 per cycle.
                assertTrue(after.loadedClasses() - before.loadedClasses() < 200,
                        "loaded classes grew from " + before.loadedClasses() + " to " + after.loadedClasses());
                assertTrue(after.heapBytes() - before.heapBytes() < (32L << 20),
                        "heap after GC grew from " + before.heapBytes() + " to " + after.heapBytes());
                // The resident set grows with the heap the collector commits (young generation sizing);
                // what the JVM commits besides the heap (metaspace, code, threads, malloc) must not.
                assertTrue(after.jvmNativeCommitted() - before.jvmNativeCommitted() < (64L << 20),
                        "JVM memory besides the heap grew from " + before.jvmNativeCommitted() + " to "
                                + after.jvmNativeCommitted());
            }
        }
        assertEquals(List.of(), newTempEntries(tempBefore), "temporary files left after close");
    }

    /** Plugs the bundle in, waits until a generation step has run on its device, unplugs it. */
    private static void cycle(BackendHost host, LlmRuntime llm, Path twin) {
        host.install(twin);
        await("a step runs on the plugged-in backend", () -> llm.deviceName().startsWith("twin/"));
        host.uninstall(twin);
        await("the unplugged backend is gone", () -> llm.deviceName().equals("cpu/cpu0"));
    }

    /** Generations back to back on their own thread, each checked against the plain run. */
    private static final class Generations {
        private final LlmRuntime llm;
        private final int[] expected;
        private final AtomicInteger finished = new AtomicInteger();
        private final AtomicReference<Throwable> failure = new AtomicReference<>();
        private volatile boolean running;
        private Thread thread;

        Generations(LlmRuntime llm, int[] expected) {
            this.llm = llm;
            this.expected = expected;
        }

        void start() {
            running = true;
            thread = Thread.ofPlatform().name("soak-generations").start(() -> {
                try {
                    while (running) {
                        int[] tokens = llm.generate(REQUEST, null, new CancellationToken()).tokens();
                        assertArrayEquals(expected, tokens, "generation " + finished.get() + " changed tokens");
                        finished.incrementAndGet();
                    }
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
        }

        /** Stops after the generation in progress; returns how many finished since the last start. */
        int stop() throws InterruptedException {
            running = false;
            thread.join();
            if (failure.get() != null) {
                throw new AssertionError("a generation failed during the soak", failure.get());
            }
            return finished.getAndSet(0);
        }
    }

    /**
     * What the process holds once the last cycle has settled. One generation runs first on the plan as it
     * now stands: which placements (prompt chunks, decode steps) a runtime keeps depends on where the last
     * unplug fell in the generation then running (one that ended in decode on the new plan has placed no
     * prompt chunk on it yet), and a complete generation brings both counts to the same set.
     */
    private static Footprint footprint(Path storage, LlmRuntime llm, int[] expected) throws Exception {
        assertArrayEquals(expected, llm.generate(REQUEST, null, new CancellationToken()).tokens(),
                "the generation after the cycles changed tokens");
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
        }
        long[] offHeap = offHeapMemory();
        return new Footprint(settledThreadCount(), count(Path.of("/proc/self/fd")), offHeap[0], offHeap[1],
                ManagementFactory.getClassLoadingMXBean().getLoadedClassCount(),
                ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed(), offHeap[3], offHeap[2], rss(),
                countTree(storage), tempEntries().size());
    }

    /**
     * Bytes and blocks of native memory allocated outside the JVM's own areas (what arenas hold:
     * tensors, KV caches, kernel scratch), and the memory the JVM has committed besides the heap
     * (metaspace, code, threads, GC structures), and the heap's committed memory. From native memory
     * tracking, which the module's test JVM enables.
     */
    private static long[] offHeapMemory() throws Exception {
        String summary = (String) ManagementFactory.getPlatformMBeanServer().invoke(
                new ObjectName("com.sun.management:type=DiagnosticCommand"), "vmNativeMemory",
                new Object[] {new String[] {"summary"}}, new String[] {String[].class.getName()});
        Matcher m = Pattern.compile("\\(malloc=(\\d+)KB tag=Other #(\\d+)\\)").matcher(summary);
        if (!m.find()) {
            throw new AssertionError("native memory tracking is off; run with -XX:NativeMemoryTracking=summary:\n" + summary);
        }
        Matcher total = Pattern.compile("Total: reserved=\\d+KB, committed=(\\d+)KB").matcher(summary);
        Matcher heap = Pattern.compile("Java Heap \\(reserved=\\d+KB, committed=(\\d+)KB").matcher(summary);
        if (!total.find() || !heap.find()) {
            throw new AssertionError("no total or heap in the native memory summary:\n" + summary);
        }
        return new long[] {Long.parseLong(m.group(1)) * 1024, Long.parseLong(m.group(2)),
                (Long.parseLong(total.group(1)) - Long.parseLong(heap.group(1))) * 1024,
                Long.parseLong(heap.group(1)) * 1024};
    }

    /** Threads, once the count holds still for a moment (pools end their threads asynchronously). */
    private static int settledThreadCount() throws InterruptedException {
        int last = -1;
        for (int i = 0; i < 50; i++) {
            int now = Thread.getAllStackTraces().size();
            if (now == last) {
                return now;
            }
            last = now;
            Thread.sleep(100);
        }
        return last;
    }

    private static long rss() throws IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.isReadable(status)) {
            return -1;
        }
        return Files.readAllLines(status).stream().filter(l -> l.startsWith("VmRSS:"))
                .mapToLong(l -> Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024).findFirst().orElse(-1);
    }

    private static long count(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return -1;
        }
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.count();
        }
    }

    private static long countTree(Path dir) throws IOException {
        try (Stream<Path> entries = Files.walk(dir)) {
            return entries.count();
        }
    }

    /** The temporary folder's entries that llmnpu names (others' files come and go on a shared machine). */
    private static Set<Path> tempEntries() throws IOException {
        try (Stream<Path> entries = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return Set.copyOf(entries.filter(p -> {
                String name = p.getFileName().toString();
                return name.startsWith("llmnpu") || name.startsWith(".llmnpu");
            }).toList());
        }
    }

    private static List<Path> newTempEntries(Set<Path> before) throws IOException {
        List<Path> added = new ArrayList<>(tempEntries());
        added.removeAll(before);
        return added;
    }

    private static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.onSpinWait();
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting until " + what);
            }
        }
    }
}
