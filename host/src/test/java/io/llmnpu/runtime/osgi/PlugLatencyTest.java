package io.llmnpu.runtime.osgi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.runtime.engine.BackendRegistry;
import io.llmnpu.runtime.osgi.fake.FakeActivator;
import io.llmnpu.runtime.osgi.fake.FakeProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Plug latency of the bundles folder: the time from a bundle jar appearing in the folder (an atomic
 * move, as a deployment tool does it) until its provider is in the host's registry, and from the jar's
 * removal until the provider is withdrawn. The figures are printed as one {@code [plug-latency]} line;
 * the test checks only that every plug and unplug reaches the registry, once, in order.
 *
 * <p>The plain test run does a few cycles at a short poll interval; the measurement behind the README
 * is {@code mvn -pl host -am test -Dtest=PlugLatencyTest -Dsurefire.failIfNoSpecifiedTests=false
 * -Dllmnpu.plug.cycles=20 -Dllmnpu.plug.poll.ms=1000} (1000 ms: the host's default interval).
 */
class PlugLatencyTest {
    @TempDir
    Path dir;

    /** A provider arriving or leaving, and when the registry heard of it. */
    private record Change(boolean published, BackendProvider provider, long nanos) {
    }

    @Test
    void everyJarDroppedInIsPluggedAndEveryJarRemovedIsUnplugged() throws Exception {
        int cycles = Integer.getInteger("llmnpu.plug.cycles", 3);
        Duration poll = Duration.ofMillis(Long.getLong("llmnpu.plug.poll.ms", 100));
        Path built = TestBundleJar.write(Files.createDirectories(dir.resolve("built")).resolve("fake.jar"),
                Map.of("Bundle-SymbolicName", "test.fake", "Bundle-Version", "1.0.0",
                        "Bundle-Activator", FakeActivator.class.getName(),
                        "Import-Package", "io.llmnpu.api.backend,org.osgi.framework"),
                FakeActivator.class, FakeProvider.class);
        Path bundles = Files.createDirectories(dir.resolve("bundles"));
        Path jar = bundles.resolve("fake.jar");
        BlockingQueue<Change> changes = new LinkedBlockingQueue<>();
        long[] plug = new long[cycles];
        long[] unplug = new long[cycles];
        // Users drop and remove jars at any moment of the poll cycle: a seeded random pause spreads them.
        Random phase = new Random(16);
        Set<ClassLoader> loaders = new HashSet<>();
        try (BackendHost host = BackendHost.start(bundles, poll)) {
            BackendRegistry registry = host.registry();
            registry.subscribe(new BackendRegistry.Listener() {
                @Override
                public void published(BackendProvider p) {
                    changes.add(new Change(true, p, System.nanoTime()));
                }

                @Override
                public void withdrawn(BackendProvider p) {
                    changes.add(new Change(false, p, System.nanoTime()));
                }
            });
            for (int i = 0; i < cycles; i++) {
                Path part = bundles.resolve(".fake.jar.part");
                Files.copy(built, part);
                Thread.sleep(phase.nextLong(poll.toMillis()));
                long dropped = System.nanoTime();
                Files.move(part, jar, StandardCopyOption.ATOMIC_MOVE);
                Change in = changes.poll(30, TimeUnit.SECONDS);
                assertNotNull(in, "cycle " + i + ": the jar was not plugged in within 30 s");
                assertTrue(in.published(), "cycle " + i + ": expected a plug, got an unplug");
                assertEquals("fake", in.provider().name());
                assertTrue(loaders.add(in.provider().getClass().getClassLoader()), "each plug loads the bundle anew");
                plug[i] = in.nanos() - dropped;
                assertEquals(List.of("ACTIVE"), host.bundles().stream().map(BundleStatus::state).toList());

                Thread.sleep(phase.nextLong(poll.toMillis()));
                long removed = System.nanoTime();
                Files.delete(jar);
                Change out = changes.poll(30, TimeUnit.SECONDS);
                assertNotNull(out, "cycle " + i + ": the jar was not unplugged within 30 s");
                assertTrue(!out.published(), "cycle " + i + ": expected an unplug, got a plug");
                assertSame(in.provider(), out.provider(), "the provider plugged in is the one withdrawn");
                unplug[i] = out.nanos() - removed;
                assertEquals(List.of(), registry.providers());
                assertEquals(List.of(), host.bundles());
            }
            Thread.sleep(2 * poll.toMillis());
        }
        assertEquals(List.of(), List.copyOf(changes), "changes nobody asked for");
        System.out.printf(Locale.ROOT, "[plug-latency] %d cycles, poll %d ms: plug median %.0f ms, max %.0f ms; "
                        + "unplug median %.0f ms, max %.0f ms%n", cycles, poll.toMillis(),
                median(plug), max(plug), median(unplug), max(unplug));
    }

    private static double median(long[] nanos) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        int n = s.length;
        return (n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0) / 1e6;
    }

    private static double max(long[] nanos) {
        return Arrays.stream(nanos).max().orElse(0) / 1e6;
    }
}
