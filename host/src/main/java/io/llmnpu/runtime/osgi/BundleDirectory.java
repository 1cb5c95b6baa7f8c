package io.llmnpu.runtime.osgi;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.TreeMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches a directory for bundle jars by polling it. A jar is reported as added once its size and
 * modification time have held still for one poll (so a jar still being copied in is not installed
 * half-written), as removed when it disappears, and as removed then added when it changes.
 *
 * <p>Polling rather than a {@link java.nio.file.WatchService}: it behaves the same on every file
 * system (network and container mounts included), and a bundle directory changes rarely.
 *
 * <p>Why not Apache Felix FileInstall (tried, 3.7.4): it waits for a file to hold still the same way,
 * so it plugs no sooner, but it keeps its own books inside the framework: a jar that is not a bundle
 * is deferred silently at every poll, and a bundle that cannot resolve is retried with its reason only
 * in FileInstall's own log, so the host could no longer report either (see the README's reliability
 * section for both watchers' measured plug latency).
 */
final class BundleDirectory implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(BundleDirectory.class);

    /** Hears jars arrive and leave; called on the watching thread, one call at a time. */
    interface Listener {
        void added(Path jar);

        void removed(Path jar);
    }

    private record Stamp(long size, long modified) {
    }

    private final Path directory;
    private final Duration interval;
    private final Listener listener;
    private final CountDownLatch closing = new CountDownLatch(1);
    /** What the listener has been told is there. */
    private final Map<Path, Stamp> reported = new HashMap<>();
    /** What the previous poll saw, to tell a settled jar from one being written. */
    private Map<Path, Stamp> previous = Map.of();
    private final Thread thread;
    private boolean scanFailed;

    private BundleDirectory(Path directory, Duration interval, Listener listener) {
        this.directory = directory;
        this.interval = interval;
        this.listener = listener;
        this.thread = Thread.ofPlatform().daemon().name("llmnpu-bundle-watcher").unstarted(this::pollLoop);
    }

    /**
     * Reports every jar in {@code directory} now (on the calling thread), then keeps watching on a
     * daemon thread every {@code interval} until closed.
     */
    static BundleDirectory watch(Path directory, Duration interval, Listener listener) {
        if (!Files.isDirectory(directory)) {
            throw new IllegalArgumentException("bundles directory not found: " + directory);
        }
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("poll interval must be positive, got " + interval);
        }
        BundleDirectory d = new BundleDirectory(directory, interval, listener);
        d.scan(false);
        d.thread.start();
        return d;
    }

    Path directory() {
        return directory;
    }

    private void pollLoop() {
        try {
            while (!closing.await(interval.toNanos(), TimeUnit.NANOSECONDS)) {
                scan(true);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One look at the directory. {@code settledOnly}: act on new or changed jars only once they hold still. */
    private synchronized void scan(boolean settledOnly) {
        Map<Path, Stamp> now;
        try {
            now = list();
            if (scanFailed) {
                log.info("bundles directory {} readable again", directory);
                scanFailed = false;
            }
        } catch (UncheckedIOException | IOException e) {
            if (!scanFailed) {
                log.warn("cannot read bundles directory {}: {}", directory, e.getMessage());
                scanFailed = true;
            }
            return;
        }
        for (Path gone : List.copyOf(reported.keySet())) {
            if (!now.containsKey(gone) && closing.getCount() > 0) {
                reported.remove(gone);
                tell(listener::removed, gone);
            }
        }
        for (Map.Entry<Path, Stamp> e : now.entrySet()) {
            Path jar = e.getKey();
            Stamp stamp = e.getValue();
            boolean settled = !settledOnly || stamp.equals(previous.get(jar));
            if (settled && !stamp.equals(reported.get(jar)) && closing.getCount() > 0) {
                if (reported.containsKey(jar)) {
                    tell(listener::removed, jar);
                }
                reported.put(jar, stamp);
                tell(listener::added, jar);
            }
        }
        previous = now;
    }

    /** Passes one event on; a failure is logged so that watching goes on. */
    private static void tell(Consumer<Path> event, Path jar) {
        try {
            event.accept(jar);
        } catch (RuntimeException e) {
            log.warn("handling bundle {} failed", jar.getFileName(), e);
        }
    }

    /** The jars in the directory by name, so bundles present together install in a repeatable order. */
    private Map<Path, Stamp> list() throws IOException {
        Map<Path, Stamp> found = new TreeMap<>();
        try (Stream<Path> files = Files.list(directory)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String name = p.getFileName().toString();
                if (name.endsWith(".jar") && !name.startsWith(".") && Files.isRegularFile(p)) {
                    try {
                        found.put(p.toAbsolutePath().normalize(),
                                new Stamp(Files.size(p), Files.getLastModifiedTime(p).toMillis()));
                    } catch (IOException vanished) {
                        // deleted between listing and reading; the next poll sees it gone
                    }
                }
            }
        }
        return found;
    }

    /** Stops watching and waits for a scan in progress to finish. */
    @Override
    public void close() {
        closing.countDown();
        try {
            thread.join(Duration.ofSeconds(60));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
