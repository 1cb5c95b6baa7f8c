package io.llmnpu.runtime.osgi;

import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/** Finds threads a piece of code started and left running. */
public final class ThreadLeaks {
    /** JDK threads that start lazily on first use of a JDK facility and live for the whole JVM. */
    private static final List<String> JVM_WIDE = List.of("Common-Cleaner", "ForkJoinPool.commonPool-worker-",
            "process reaper", "Attach Listener", "surefire-forkedjvm-", "Notification Thread", "Signal Dispatcher");

    private ThreadLeaks() {
    }

    public static Set<Thread> running() {
        return Set.copyOf(Thread.getAllStackTraces().keySet());
    }

    /**
     * Threads alive now that were not in {@code baseline}, waiting up to {@code seconds} for them to end
     * (threads stop asynchronously); empty when nothing leaked.
     */
    public static List<String> since(Set<Thread> baseline, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        List<String> extra;
        do {
            extra = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.isAlive() && !baseline.contains(t))
                    .filter(t -> JVM_WIDE.stream().noneMatch(t.getName()::startsWith))
                    .map(Thread::getName)
                    .sorted()
                    .toList();
            if (extra.isEmpty()) {
                return extra;
            }
            Thread.sleep(50);
        } while (System.nanoTime() < deadline);
        return extra;
    }
}
