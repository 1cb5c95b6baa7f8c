package io.llmnpu.runtime.osgi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.runtime.engine.BackendRegistry;
import io.llmnpu.runtime.osgi.fake.FakeActivator;
import io.llmnpu.runtime.osgi.fake.FakeProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The OSGi host plugs and unplugs bundles as jars come and go, and leaves nothing behind. */
class BackendHostTest {
    private static final Duration POLL = Duration.ofMillis(50);

    @TempDir
    Path dir;

    private static Map<String, String> fakeHeaders(String symbolicName) {
        return Map.of("Bundle-SymbolicName", symbolicName,
                "Bundle-Version", "1.2.3",
                "Bundle-Activator", FakeActivator.class.getName(),
                "Import-Package", "io.llmnpu.api.backend,org.osgi.framework");
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(20);
        }
    }

    private static List<String> names(BackendRegistry registry) {
        return registry.providers().stream().map(BackendProvider::name).toList();
    }

    @Test
    void jarDroppedInPlugsAndJarRemovedUnplugs() throws Exception {
        Set<Thread> baseline = ThreadLeaks.running();
        Path storage;
        List<String> events = new CopyOnWriteArrayList<>();
        try (BackendHost host = BackendHost.start(dir, POLL)) {
            storage = host.storageDirectory();
            assertTrue(Files.isDirectory(storage), "framework storage " + storage);
            List<String> started = ThreadLeaks.since(baseline, 0);
            assertTrue(started.contains("llmnpu-bundle-watcher"), "the leak check sees the host's threads: " + started);
            BackendRegistry registry = host.registry();
            assertTrue(registry.isLive());
            assertEquals(List.of(), names(registry));
            registry.subscribe(new BackendRegistry.Listener() {
                @Override
                public void published(BackendProvider p) {
                    events.add("+" + p.name());
                }

                @Override
                public void withdrawn(BackendProvider p) {
                    events.add("-" + p.name());
                }
            });

            Path jar = TestBundleJar.write(dir.resolve("fake.jar"), fakeHeaders("test.fake"),
                    FakeActivator.class, FakeProvider.class);
            await("the fake provider is plugged in", () -> names(registry).equals(List.of("fake")));
            BackendProvider plugged = registry.providers().getFirst();
            // The bundle's own class loader defined it, not the test's: it really came from the jar.
            assertTrue(plugged.getClass() != FakeProvider.class, "provider class came from the class path");
            assertEquals(FakeProvider.class.getName(), plugged.getClass().getName());
            BundleStatus status = host.bundles().getFirst();
            assertEquals("test.fake", status.symbolicName());
            assertEquals("1.2.3", status.version());
            assertEquals("ACTIVE", status.state());
            assertEquals(List.of("fake"), status.providers());
            assertEquals(jar.toAbsolutePath().normalize(), status.file());

            Files.delete(jar);
            await("the fake provider is unplugged", () -> names(registry).isEmpty());
            assertEquals(List.of(), host.bundles());
            assertEquals(List.of("+fake", "-fake"), events);
        }
        assertFalse(Files.exists(storage), "framework storage left behind: " + storage);
        assertEquals(List.of(), ThreadLeaks.since(baseline, 10), "threads left running after close");
    }

    @Test
    void jarReplacedIsUnpluggedAndPluggedAgain() throws Exception {
        List<String> events = new CopyOnWriteArrayList<>();
        try (BackendHost host = BackendHost.start(dir, POLL)) {
            host.registry().subscribe(new BackendRegistry.Listener() {
                @Override
                public void published(BackendProvider p) {
                    events.add("+" + p.getClass().getClassLoader().hashCode());
                }

                @Override
                public void withdrawn(BackendProvider p) {
                    events.add("-" + p.getClass().getClassLoader().hashCode());
                }
            });
            TestBundleJar.write(dir.resolve("fake.jar"), fakeHeaders("test.fake"), FakeActivator.class, FakeProvider.class);
            await("version 1.2.3 is active", () -> host.bundles().size() == 1 && host.bundles().getFirst().active());
            Map<String, String> v2 = new java.util.HashMap<>(fakeHeaders("test.fake"));
            v2.put("Bundle-Version", "2.0.10");
            TestBundleJar.write(dir.resolve("fake.jar"), v2, FakeActivator.class, FakeProvider.class);
            await("version 2.0.10 is active", () -> host.bundles().size() == 1
                    && host.bundles().getFirst().version().equals("2.0.10") && host.bundles().getFirst().active());
            assertEquals(List.of("fake"), names(host.registry()));
        }
        assertEquals(4, events.size(), events.toString());
        assertEquals(events.get(0).substring(1), events.get(1).substring(1), "the old provider leaves: " + events);
        assertTrue(events.get(0).startsWith("+") && events.get(1).startsWith("-") && events.get(2).startsWith("+"), events.toString());
        assertTrue(!events.get(2).substring(1).equals(events.get(0).substring(1)), "the new one has a new class loader: " + events);
    }

    @Test
    void bundlesPresentAtStartArePluggedBeforeStartReturns() throws Exception {
        TestBundleJar.write(dir.resolve("a.jar"), fakeHeaders("test.a"), FakeActivator.class, FakeProvider.class);
        try (BackendHost host = BackendHost.start(dir, Duration.ofHours(1))) {
            assertEquals(List.of("fake"), names(host.registry()));
            assertEquals("no usable backend found; put a backend bundle (e.g. llmnpu-backend-cpu-vector-bundle) in "
                            + "the bundles directory; found but unusable: fake",
                    assertThrows(IllegalStateException.class, () -> host.registry().select(null)).getMessage());
        }
    }

    @Test
    void bundleThatCannotResolveSaysWhy() throws Exception {
        Map<String, String> headers = new java.util.HashMap<>(fakeHeaders("test.unresolvable"));
        headers.put("Import-Package", "io.llmnpu.api.backend,org.osgi.framework,com.example.absent");
        Path jar = TestBundleJar.write(dir.resolve("broken.jar"), headers, FakeActivator.class, FakeProvider.class);
        try (BackendHost host = BackendHost.start(dir, Duration.ofHours(1))) {
            assertEquals(List.of(), names(host.registry()));
            BundleStatus status = host.bundles().getFirst();
            assertEquals("INSTALLED", status.state());
            assertTrue(status.problem().contains("com.example.absent"), status.problem());

            Files.writeString(dir.resolve("junk.jar"), "not a jar");
            BundleStatus junk = host.install(dir.resolve("junk.jar"));
            assertEquals("FAILED", junk.state());
            assertFalse(junk.problem().isEmpty());

            host.uninstall(jar);
            assertEquals(1, host.bundles().size());
        }
    }

    /**
     * A jar copied into the folder piece by piece (as {@code cp} over a slow mount does) is left alone
     * while it grows, so the framework never sees half a jar, and is plugged in once it holds still.
     */
    @Test
    void jarStillBeingWrittenIsInstalledOnlyOnceItHoldsStill() throws Exception {
        Path built = TestBundleJar.write(Files.createDirectories(dir.resolve("built")).resolve("fake.jar"),
                fakeHeaders("test.fake"), FakeActivator.class, FakeProvider.class);
        byte[] bytes = Files.readAllBytes(built);
        Path bundles = Files.createDirectories(dir.resolve("bundles"));
        Duration poll = Duration.ofMillis(500);
        try (BackendHost host = BackendHost.start(bundles, poll)) {
            // Pieces every 20 ms for about three polls: size and time change between any two polls.
            int pieces = (int) (3 * poll.toMillis() / 20);
            int step = Math.max(1, bytes.length / pieces);
            try (java.io.OutputStream out = Files.newOutputStream(bundles.resolve("fake.jar"))) {
                for (int at = 0; at < bytes.length; at += step) {
                    out.write(bytes, at, Math.min(step, bytes.length - at));
                    out.flush();
                    Thread.sleep(20);
                    assertEquals(List.of(), host.bundles(), "a jar still being written was installed (or tried)");
                }
            }
            await("the finished jar is plugged in", () -> names(host.registry()).equals(List.of("fake")));
            assertEquals(List.of("ACTIVE"), host.bundles().stream().map(BundleStatus::state).toList());
        }
    }

    /** A broken jar dropped into the folder is reported with its reason, and the folder is still watched. */
    @Test
    void brokenJarDroppedInIsReportedAndWatchingGoesOn() throws Exception {
        try (BackendHost host = BackendHost.start(dir, POLL)) {
            Path part = Files.writeString(dir.resolve(".junk.jar.part"), "not a jar");
            Path junk = Files.move(part, dir.resolve("junk.jar"), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            await("the broken jar is reported", () -> !host.bundles().isEmpty());
            BundleStatus status = host.bundles().getFirst();
            assertEquals(junk.toAbsolutePath().normalize(), status.file());
            assertEquals("FAILED", status.state());
            assertFalse(status.problem().isEmpty(), "no reason given");

            TestBundleJar.write(dir.resolve("fake.jar"), fakeHeaders("test.fake"), FakeActivator.class, FakeProvider.class);
            await("a good jar dropped in afterwards is plugged in", () -> names(host.registry()).equals(List.of("fake")));
            Files.delete(junk);
            await("the broken jar is forgotten once removed", () -> host.bundles().size() == 1);
        }
    }

    @Test
    void missingDirectoryIsAClearError() {
        Path missing = dir.resolve("nope");
        assertEquals("bundles directory not found: " + missing,
                assertThrows(IllegalArgumentException.class, () -> BackendHost.start(missing)).getMessage());
    }
}
