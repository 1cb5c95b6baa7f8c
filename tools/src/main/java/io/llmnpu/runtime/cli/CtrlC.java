package io.llmnpu.runtime.cli;

import io.llmnpu.runtime.api.CancellationToken;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Ctrl-C (or SIGTERM) during a command: cancels {@code cancel} and holds the JVM's shutdown until the
 * command has finished its output (the text so far, a closing newline, its summary) or a few seconds
 * have passed. Without the wait the JVM ends as soon as the shutdown hooks return, cutting the output
 * off mid-line.
 */
final class CtrlC implements AutoCloseable {
    /** Longest a command gets to wrap up after Ctrl-C: the step in flight plus the summary. */
    private static final long GRACE_SECONDS = 10;

    private final CountDownLatch finished = new CountDownLatch(1);
    private final Thread hook;

    private CtrlC(CancellationToken cancel) {
        hook = new Thread(() -> {
            cancel.cancel();
            try {
                finished.await(GRACE_SECONDS, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "llmnpu-ctrl-c");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** Cancels {@code cancel} on Ctrl-C until closed. */
    static CtrlC cancels(CancellationToken cancel) {
        return new CtrlC(cancel);
    }

    /** The command's output is complete: a pending shutdown may go on. */
    @Override
    public void close() {
        finished.countDown();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // Ctrl-C came: the hook is running and now returns
        }
    }
}
