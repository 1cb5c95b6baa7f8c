package io.llmnpu.runtime.engine;

import io.llmnpu.runtime.model.ModelConfig;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * One sequence being processed: its KV cache and how many positions it holds. Tokens go in (a
 * prompt in chunks, or one at a time), logits of the last token come out.
 *
 * <p>A session is used by one thread at a time. Sessions of one {@link ForwardPass} share its compiled
 * graphs, so each engine step (one prefill chunk, one decode step) runs under the forward pass's step
 * lock: sessions on several threads interleave step by step and never see each other's cache.
 */
public final class InferenceSession implements AutoCloseable {
    private final ForwardPass forwardPass;
    private final KvCache cache;
    private final Consumer<InferenceSession> onClose;
    private final AtomicBoolean closed = new AtomicBoolean();
    private int position;

    public InferenceSession(ForwardPass forwardPass, int capacity) {
        this(forwardPass, capacity, session -> { });
    }

    /** As above; {@code onClose} hears of the session once, when it is first closed. */
    public InferenceSession(ForwardPass forwardPass, int capacity, Consumer<InferenceSession> onClose) {
        this.forwardPass = forwardPass;
        this.cache = new KvCache(forwardPass.config(), capacity);
        this.onClose = onClose;
    }

    /**
     * Runs {@code tokens} after what the session already holds; returns the last token's logits.
     *
     * @throws IllegalStateException if the session or its model is closed
     */
    public float[] feed(int... tokens) {
        return feed(tokens, () -> false);
    }

    /**
     * As {@link #feed(int...)}, one chunk per engine step, asking {@code cancelled} between chunks;
     * returns null when cancelled (the positions already run stay in the cache).
     */
    public float[] feed(int[] tokens, BooleanSupplier cancelled) {
        int chunk = forwardPass.planner().chunkSize();
        float[] logits = null;
        for (int start = 0; start < tokens.length; start += chunk) {
            if (cancelled.getAsBoolean()) {
                return null;
            }
            int[] part = start == 0 && tokens.length <= chunk
                    ? tokens : Arrays.copyOfRange(tokens, start, Math.min(tokens.length, start + chunk));
            if (closed.get()) {
                throw new IllegalStateException("the session is closed");
            }
            logits = forwardPass.forward(cache, part, position); // one step under the forward pass's lock
            position += part.length;
        }
        return logits;
    }

    /**
     * Forgets every position from {@code newPosition} on, so the next tokens go there: a sequence that
     * shares only a prefix with what the cache holds keeps that prefix and runs the rest.
     */
    public void rewind(int newPosition) {
        if (newPosition < 0 || newPosition > position) {
            throw new IllegalArgumentException("cannot rewind to position " + newPosition + " of " + position);
        }
        position = newPosition;
    }

    /** Positions filled so far. */
    public int position() {
        return position;
    }

    /** Positions the session can hold in all. */
    public int capacity() {
        return cache.capacity();
    }

    public KvCache cache() {
        return cache;
    }

    public ModelConfig config() {
        return forwardPass.config();
    }

    /**
     * Frees the KV cache. Safe to call more than once, and from another thread once no step of this
     * session can run (the runtime does so after closing the forward pass).
     */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            try {
                cache.close();
            } finally {
                onClose.accept(this);
            }
        }
    }
}
