package io.llmnpu.runtime.server;

import io.llmnpu.runtime.api.Conversation;
import io.llmnpu.runtime.api.LlmRuntime;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * The server's KV slots: {@code parallel} {@link Conversation}s, each used by one request at a time.
 * A request takes the free slot whose cache shares the longest prefix with its prompt (the least
 * recently used one among equals), so a follow-up turn of a conversation finds its earlier turns
 * still cached. When every slot is busy, requests wait in one first-come-first-served queue of bounded
 * length; a full queue refuses at once (429), a wait past the timeout gives up (503), and a client that
 * goes away while waiting leaves the queue.
 */
final class SlotManager implements AutoCloseable {
    private final List<Slot> slots = new ArrayList<>();
    private final Deque<Waiter> queue = new ArrayDeque<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final int queueLimit;
    private final Duration queueTimeout;
    private long clock;
    private boolean closed;

    SlotManager(LlmRuntime llm, int parallel, int queueLimit, Duration queueTimeout) {
        this.queueLimit = queueLimit;
        this.queueTimeout = queueTimeout;
        for (int i = 0; i < parallel; i++) {
            slots.add(new Slot(i, llm.openConversation()));
        }
    }

    /** A slot held by one request; closing it hands the slot to the next in the queue. */
    final class Lease implements AutoCloseable {
        private final Slot slot;
        private boolean released;

        private Lease(Slot slot) {
            this.slot = slot;
        }

        Conversation conversation() {
            return slot.conversation;
        }

        int slotIndex() {
            return slot.index;
        }

        @Override
        public void close() {
            lock.lock();
            try {
                if (!released) {
                    released = true;
                    release(slot);
                }
            } finally {
                lock.unlock();
            }
        }
    }

    /** Thrown when the client went away while its request waited. */
    static final class ClientGone extends RuntimeException {
        ClientGone() {
            super("the client closed the connection while waiting for a slot", null, false, false);
        }
    }

    /**
     * Waits for a slot for {@code prompt}.
     *
     * @param gone asked while waiting: true when the client has gone away
     * @throws ApiException 429 when the queue is full, 503 on timeout or shutdown
     * @throws ClientGone when {@code gone} says so while waiting
     */
    Lease acquire(int[] prompt, BooleanSupplier gone) throws InterruptedException {
        long deadline = System.nanoTime() + queueTimeout.toNanos();
        lock.lock();
        try {
            if (closed) {
                throw ApiException.unavailable("the server is shutting down");
            }
            if (queue.isEmpty()) {
                Slot free = bestFree(prompt);
                if (free != null) {
                    return take(free);
                }
            }
            if (queue.size() >= queueLimit) {
                throw ApiException.queueFull(queue.size());
            }
            Waiter me = new Waiter(lock.newCondition());
            queue.addLast(me);
            try {
                while (me.assigned == null) {
                    if (closed) {
                        throw ApiException.unavailable("the server is shutting down");
                    }
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        throw ApiException.unavailable("no slot became free within " + queueTimeout.toSeconds()
                                + " s; the server is overloaded, retry later");
                    }
                    if (gone.getAsBoolean()) {
                        throw new ClientGone();
                    }
                    me.ready.await(Math.min(left, TimeUnit.MILLISECONDS.toNanos(100)), TimeUnit.NANOSECONDS);
                }
                return new Lease(me.assigned);
            } finally {
                if (me.assigned == null) {
                    queue.remove(me);
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /** Requests waiting for a slot. */
    int queued() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    /** Slots in use. */
    int busy() {
        lock.lock();
        try {
            return (int) slots.stream().filter(s -> s.busy).count();
        } finally {
            lock.unlock();
        }
    }

    int total() {
        return slots.size();
    }

    /** Refuses new requests and wakes every waiter; frees the slots once they are all returned. */
    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            queue.forEach(w -> w.ready.signalAll());
            for (Slot s : slots) {
                if (!s.busy) {
                    s.conversation.close();
                }
            }
        } finally {
            lock.unlock();
        }
    }

    private Lease take(Slot slot) {
        slot.busy = true;
        slot.lastUsed = ++clock;
        return new Lease(slot);
    }

    private void release(Slot slot) {
        slot.busy = false;
        if (closed) {
            slot.conversation.close();
            return;
        }
        Waiter next = queue.pollFirst();
        if (next != null) {
            slot.busy = true;
            slot.lastUsed = ++clock;
            next.assigned = slot;
            next.ready.signalAll();
        }
    }

    private Slot bestFree(int[] prompt) {
        Slot best = null;
        int bestShared = -1;
        for (Slot s : slots) {
            if (s.busy) {
                continue;
            }
            int shared = s.conversation.sharedPrefix(prompt);
            if (shared > bestShared || (shared == bestShared && s.lastUsed < best.lastUsed)) {
                best = s;
                bestShared = shared;
            }
        }
        return best;
    }

    private static final class Slot {
        final int index;
        final Conversation conversation;
        boolean busy;
        long lastUsed;

        Slot(int index, Conversation conversation) {
            this.index = index;
            this.conversation = conversation;
        }
    }

    private static final class Waiter {
        final Condition ready;
        Slot assigned;

        Waiter(Condition ready) {
            this.ready = ready;
        }
    }
}
