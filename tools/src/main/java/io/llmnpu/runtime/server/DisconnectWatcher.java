package io.llmnpu.runtime.server;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Notices clients that close their connection while their request waits or generates, so that the
 * generation is cancelled at once instead of running to its end for nobody. One daemon thread polls
 * every registered connection a few times a second; a stream also notices at its next write.
 */
final class DisconnectWatcher implements AutoCloseable {
    private static final long PERIOD_MILLIS = 50;

    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "llmnpu-disconnect-watch");
        t.setDaemon(true);
        return t;
    });
    private final Set<Watch> watches = ConcurrentHashMap.newKeySet();

    DisconnectWatcher() {
        timer.scheduleWithFixedDelay(this::poll, PERIOD_MILLIS, PERIOD_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** One watched connection: {@link #gone()} turns true once the client has closed it. */
    final class Watch implements AutoCloseable {
        private final BooleanSupplier closedByClient;
        private final Runnable onGone;
        private volatile boolean gone;

        private Watch(BooleanSupplier closedByClient, Runnable onGone) {
            this.closedByClient = closedByClient;
            this.onGone = onGone;
        }

        boolean gone() {
            return gone;
        }

        /** Marks the client gone now (e.g. a write to it failed). */
        void markGone() {
            if (!gone) {
                gone = true;
                onGone.run();
            }
        }

        @Override
        public void close() {
            watches.remove(this);
        }
    }

    /**
     * Watches a connection until the returned handle is closed.
     *
     * @param closedByClient true once the client has closed the connection (must not block)
     * @param onGone         run once when that is noticed (e.g. cancel the generation)
     */
    Watch watch(BooleanSupplier closedByClient, Runnable onGone) {
        Watch w = new Watch(closedByClient, onGone);
        watches.add(w);
        return w;
    }

    private void poll() {
        for (Watch w : watches) {
            try {
                if (!w.gone && w.closedByClient.getAsBoolean()) {
                    w.markGone();
                }
            } catch (RuntimeException e) {
                w.markGone();
            }
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
        watches.clear();
    }
}
