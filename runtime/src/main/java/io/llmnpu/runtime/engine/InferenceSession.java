package io.llmnpu.runtime.engine;

import io.llmnpu.runtime.model.ModelConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * One sequence being processed: its KV cache and how many positions it holds. Tokens go in (a
 * prompt in chunks, or one at a time), logits of the last token come out.
 *
 * <p>Sessions of one runtime share its compiled graphs, so each engine step runs under the runtime's
 * engine lock: sessions on several threads interleave step by step and never see each other's cache. A
 * step is one decode token, or up to {@value #STEP_CHUNKS} prompt chunks run as one task DAG (so that
 * chunks can run out of order across devices, as llm.npu's 1024-token prompts in 256-token chunks do);
 * a longer prompt takes several steps. A session itself belongs to one thread at a time.
 */
public final class InferenceSession implements AutoCloseable {
    private final ForwardPass forwardPass;
    private final KvCache cache;
    private final Lock engineLock;
    private final BooleanSupplier engineClosed;
    /** Prompt chunks one engine step may hold. */
    public static final int STEP_CHUNKS = 4;

    private int position;
    private boolean closed;
    private List<ForwardPass.Result> lastFeed = List.of();

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
            engineLock.lock();
            try {
                if (closed || engineClosed.getAsBoolean()) {
                    throw new IllegalStateException("the runtime is closed");
                }
                ForwardPass.Result run = forwardPass.run(ForwardPass.Request.of(cache, part, position));
                runs.add(run);
                logits = run.lastLogits();
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
