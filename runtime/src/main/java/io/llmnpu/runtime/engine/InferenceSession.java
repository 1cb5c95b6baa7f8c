package io.llmnpu.runtime.engine;

import io.llmnpu.runtime.model.ModelConfig;
import java.util.Arrays;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * One sequence being processed: its KV cache and how many positions it holds. Tokens go in (a
 * prompt in chunks, or one at a time), logits of the last token come out.
 *
 * <p>Sessions of one runtime share its compiled graphs, so each engine step (one prefill chunk, one
 * decode step) runs under the runtime's engine lock: sessions on several threads interleave step by
 * step and never see each other's cache. A session itself belongs to one thread at a time.
 */
public final class InferenceSession implements AutoCloseable {
    private final ForwardPass forwardPass;
    private final KvCache cache;
    private final Lock engineLock;
    private final BooleanSupplier engineClosed;
    private int position;
    private boolean closed;

    /** A session with a lock of its own (for a forward pass nobody else uses). */
    public InferenceSession(ForwardPass forwardPass, int capacity) {
        this(forwardPass, capacity, new ReentrantLock(), () -> false);
    }

    /**
     * A session whose engine steps run under {@code engineLock}, shared by every session of the forward
     * pass; once {@code engineClosed} says so, steps fail instead of touching freed memory.
     */
    public InferenceSession(ForwardPass forwardPass, int capacity, Lock engineLock, BooleanSupplier engineClosed) {
        this.forwardPass = forwardPass;
        this.cache = new KvCache(forwardPass.config(), capacity);
        this.engineLock = engineLock;
        this.engineClosed = engineClosed;
    }

    /** Runs {@code tokens} after what the session already holds; returns the last token's logits. */
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
            engineLock.lock();
            try {
                if (closed || engineClosed.getAsBoolean()) {
                    throw new IllegalStateException("the runtime is closed");
                }
                logits = forwardPass.forward(cache, part, position);
            } finally {
                engineLock.unlock();
            }
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

    @Override
    public void close() {
        engineLock.lock();
        try {
            if (!closed) {
                closed = true;
                cache.close();
            }
        } finally {
            engineLock.unlock();
        }
    }
}
