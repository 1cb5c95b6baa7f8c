package io.llmnpu.backend.cpu;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The backend's copies of weights in the layouts its kernels read fastest ({@link InterleavedRows}),
 * made once per weight and shared by every graph that uses it (a model's decode, prefill and LM-head
 * graphs). A copy lives while some open graph holds a {@link Lease} on it.
 *
 * <p>Memory: a rearranged weight has the size of the original. When the original is a memory-mapped
 * file, its pages are released from this process right after they have been copied
 * ({@link MemorySegment#unload()}: the kernel drops them, a later read faults them in again from the
 * file), so a model rearranged tensor by tensor occupies its size once, not twice. Nothing else of the
 * original changes, and other readers (embedding lookups, other backends) still read it.
 *
 * <p>Copies are keyed by the identity of the weight's memory segment: two different tensors never share
 * a copy, even at a reused address.
 */
final class WeightStore {

    private static final Logger LOG = LoggerFactory.getLogger(WeightStore.class);

    /**
     * {@code -Dllmnpu.cpu.interleave=false} keeps every weight in its file layout (to compare layouts);
     * read when a backend starts.
     */
    static boolean enabledByDefault() {
        return !"false".equalsIgnoreCase(System.getProperty("llmnpu.cpu.interleave"));
    }

    private final boolean enabled = enabledByDefault();
    private final Map<MemorySegment, Entry> entries = new IdentityHashMap<>();
    private boolean closed;

    /** A graph's hold on a rearranged weight; closing it lets the store free the copy once unused. */
    interface Lease extends AutoCloseable {
        /** The rearranged weight, valid until the lease is closed; null if the weight keeps its file layout. */
        Tensor tensor();

        @Override
        void close();
    }

    private final class Entry {
        final MemorySegment source;
        final Arena arena;
        final Tensor tensor;
        int users;

        Entry(MemorySegment source, Arena arena, Tensor tensor) {
            this.source = source;
            this.arena = arena;
            this.tensor = tensor;
        }

        Lease lease() {
            users++;
            return new Lease() {
                private boolean closed;

                @Override
                public Tensor tensor() {
                    return tensor;
                }

                @Override
                public void close() {
                    synchronized (WeightStore.this) {
                        if (!closed) {
                            closed = true;
                            release(Entry.this);
                        }
                    }
                }
            };
        }
    }

    /**
     * The interleaved copy of {@code weight} (see {@link InterleavedRows#supports}), made now with
     * {@code loop} if no open graph holds one yet; null if interleaving is switched off. The lease's
     * tensor is null for weights that cannot be interleaved after all (F16 infinities or NaNs, as values or block scales).
     */
    synchronized Lease interleaved(Tensor weight, ParallelLoop loop) {
        if (!enabled) {
            return null;
        }
        if (closed) {
            throw new BackendException("the cpu backend is closed");
        }
        MemorySegment source = weight.data();
        Entry e = entries.get(source);
        if (e == null) {
            e = interleave(weight, loop);
            entries.put(source, e);
        }
        return e.lease();
    }

    private Entry interleave(Tensor weight, ParallelLoop loop) {
        int n = weight.shape().dim(0);
        int k = weight.shape().dim(1);
        MemorySegment source = weight.data();
        Arena arena = Arena.ofShared();
        try {
            MemorySegment copy = arena.allocate(source.byteSize(), 64);
            AtomicBoolean complete = new AtomicBoolean(true);
            loop.forRange(n / InterleavedRows.ROWS, 16, (g0, g1) -> {
                if (complete.get() && !InterleavedRows.interleave(weight.dtype(), source, copy, k, g0, g1)) {
                    complete.set(false);
                }
            });
            if (!complete.get()) {
                // F16 infinities or NaNs (values or scales): the tensor keeps its file layout (and the exact conversion).
                arena.close();
                LOG.debug("weight {} holds F16 infinities or NaNs; it keeps its file layout and exact kernels", weight);
                return new Entry(source, null, null);
            }
            MappedPages.release(source);
            return new Entry(source, arena, new Tensor(weight.name(), weight.dtype(), weight.shape(), copy));
        } catch (RuntimeException | OutOfMemoryError e) {
            if (arena.scope().isAlive()) {
                arena.close();
            }
            throw new BackendException("cannot rearrange weight " + weight + " for the cpu kernels: " + e, e);
        }
    }

    private void release(Entry e) {
        if (--e.users == 0 && !closed) {
            entries.remove(e.source);
            if (e.arena != null) {
                e.arena.close();
            }
        }
    }

    /** Weights held now and their bytes, for logs and tests. */
    synchronized long bytes() {
        return entries.values().stream().filter(e -> e.tensor != null).mapToLong(e -> e.tensor.byteSize()).sum();
    }

    synchronized int size() {
        return (int) entries.values().stream().filter(e -> e.tensor != null).count();
    }

    /** Frees every copy; graphs still holding leases must not run afterwards (the backend closes them first). */
    synchronized void close() {
        closed = true;
        if (!entries.isEmpty()) {
            LOG.debug("freeing {} rearranged weights", entries.size());
        }
        entries.values().stream().filter(e -> e.arena != null).forEach(e -> e.arena.close());
        entries.clear();
    }
}
