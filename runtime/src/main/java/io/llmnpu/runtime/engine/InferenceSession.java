package io.llmnpu.runtime.engine;

import io.llmnpu.runtime.model.ModelConfig;

/**
 * One sequence being processed: its KV cache and how many positions it holds. Tokens go in (a
 * prompt in chunks, or one at a time), logits of the last token come out.
 */
public final class InferenceSession implements AutoCloseable {
    private final ForwardPass forwardPass;
    private final KvCache cache;
    private int position;
    private ForwardPass.Result last;

    public InferenceSession(ForwardPass forwardPass, int capacity) {
        this.forwardPass = forwardPass;
        this.cache = new KvCache(forwardPass.config(), capacity);
    }

    /** Runs {@code tokens} after what the session already holds; returns the last token's logits. */
    public float[] feed(int... tokens) {
        last = forwardPass.run(ForwardPass.Request.of(cache, tokens, position));
        position += tokens.length;
        return last.lastLogits();
    }

    /** What the last {@link #feed} did (devices, timing, NPU or float), or null before the first. */
    public ForwardPass.Result lastRun() {
        return last;
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
        cache.close();
    }
}
