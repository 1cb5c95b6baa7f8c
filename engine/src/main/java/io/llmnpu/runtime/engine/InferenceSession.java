package io.llmnpu.runtime.engine;

import io.llmnpu.runtime.model.ModelConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * One sequence being processed: its KV cache and how many positions it holds. Tokens go in (a
 * prompt in chunks, or one at a time), logits of the last token come out.
 *
 * <p>Sessions of one runtime share its compiled graphs, so each engine step runs under the engine lock
 * ({@link DevicePlan#step}, the runtime's one lock): sessions on several threads interleave step by step and never see each other's cache. A
 * step is one decode token, or up to {@value #STEP_CHUNKS} prompt chunks run as one task DAG (so that
 * chunks can run out of order across devices, as llm.npu's 1024-token prompts in 256-token chunks do);
 * a longer prompt takes several steps. A session itself belongs to one thread at a time.
 */
public final class InferenceSession implements AutoCloseable {
    private final ForwardPass forwardPass;
    private final KvCache cache;
    private final Consumer<InferenceSession> onClose;
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Prompt chunks one engine step may hold. */
    public static final int STEP_CHUNKS = 4;

    private int position;
    private List<ForwardPass.Result> lastFeed = List.of();

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
     * As {@link #feed(int...)}, {@value #STEP_CHUNKS} chunks per engine step, asking {@code cancelled} between steps;
     * returns null when cancelled (the positions already run stay in the cache).
     */
    public float[] feed(int[] tokens, BooleanSupplier cancelled) {
        int chunk = forwardPass.planner().chunkSize() * STEP_CHUNKS;
        float[] logits = null;
        List<ForwardPass.Result> runs = new ArrayList<>();
        lastFeed = runs;
        for (int start = 0; start < tokens.length; ) {
            if (cancelled.getAsBoolean()) {
                return null;
            }
            int end = Math.min(tokens.length, start + chunk);
            if (tokens.length - end == 1) {
                end = tokens.length;      // a lone last token would be a decode step: it joins this prompt step
            }
            int[] part = start == 0 && end == tokens.length ? tokens : Arrays.copyOfRange(tokens, start, end);
            start = end;
            if (closed.get()) {
                throw new IllegalStateException("the session is closed");
            }
            ForwardPass.Result run = forwardPass.run(ForwardPass.Request.of(cache, part, position)); // one engine step
            runs.add(run);
            logits = run.lastLogits();
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

    /** What the last {@link #feed} did, one result per engine step (devices, timing, NPU or float). */
    public List<ForwardPass.Result> lastFeed() {
        return lastFeed;
    }

    /** The last step of the last {@link #feed}, or null before the first. */
    public ForwardPass.Result lastRun() {
        return lastFeed.isEmpty() ? null : lastFeed.getLast();
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
