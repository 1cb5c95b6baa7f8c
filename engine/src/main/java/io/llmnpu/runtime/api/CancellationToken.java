package io.llmnpu.runtime.api;

/**
 * Lets another thread stop a generation: the generation ends after the token in progress, with
 * {@link GenerationResult.StopReason#CANCELLED}.
 */
public final class CancellationToken {
    private volatile boolean cancelled;

    public void cancel() {
        cancelled = true;
    }

    public boolean isCancelled() {
        return cancelled;
    }
}
