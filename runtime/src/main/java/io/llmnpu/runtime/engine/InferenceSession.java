package io.llmnpu.runtime.engine;

import io.llmnpu.runtime.model.ModelConfig;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * One sequence being processed: its KV cache and how many positions it holds. Tokens go in (a
 * prompt in chunks, or one at a time), logits of the last token come out.
 *
 * <p>A session is used by one thread at a time; different sessions on one {@link ForwardPass} may
 * be used from different threads at once (their steps take turns, see {@link ForwardPass}).
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
        if (closed.get()) {
            throw new IllegalStateException("the session is closed");
        }
        float[] logits = forwardPass.forward(cache, tokens, position);
        position += tokens.length;
        return logits;
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

    /** Frees the KV cache. Safe to call more than once and from another thread once no step of this session runs. */
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
