package io.llmnpu.backend.cpu.onednn;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Packed weights shared by every compiled graph that multiplies by the same matrix in the same layout
 * (a prompt chunk and the shorter buckets of a model use the same weights), counted by their users and
 * freed when the last one releases them. A model's packed copy thus exists once, for as long as some
 * graph needs it.
 */
final class WeightStore {

    /**
     * One source matrix of a packed one.
     *
     * @param data  its memory (equal segments: same address and heap object)
     * @param bytes its size, so a region reused for other weights is told apart
     */
    record Part(MemorySegment data, long bytes) {
    }

    /**
     * Which weights: the source matrices stacked row after row, and how they were turned into codes.
     *
     * @param encoding how the codes were made, e.g. {@code per-row int8}
     */
    record Key(List<Part> parts, String encoding, int rows, int cols) {
        Key {
            parts = List.copyOf(parts);
        }
    }

    private static final class Entry {
        final PackedWeights weights;
        int users;

        Entry(PackedWeights weights) {
            this.weights = weights;
        }
    }

    private final OneDnn dnn;
    private final Map<Key, List<Entry>> entries = new HashMap<>();
    private final Map<PackedWeights, Key> keys = new IdentityHashMap<>();

    WeightStore(OneDnn dnn) {
        this.dnn = dnn;
    }

    /**
     * The weights of {@code key} packed in {@code md}'s layout, packed now by {@code pack} unless some
     * graph holds them already. Each call must be matched by one {@link #release}.
     */
    synchronized PackedWeights acquire(Key key, MemorySegment md, Supplier<PackedWeights> pack) {
        List<Entry> forKey = entries.computeIfAbsent(key, k -> new ArrayList<>());
        for (Entry e : forKey) {
            if (dnn.memoryDescEqual(e.weights.md(), md)) {
                e.users++;
                return e.weights;
            }
        }
        Entry created;
        try {
            created = new Entry(pack.get());
        } finally {
            if (forKey.isEmpty()) {
                entries.remove(key);
            }
        }
        created.users = 1;
        entries.computeIfAbsent(key, k -> new ArrayList<>()).add(created);
        keys.put(created.weights, key);
        return created.weights;
    }

    /** One user less; the last one frees the packed copy. */
    synchronized void release(PackedWeights weights) {
        Key key = keys.get(weights);
        if (key == null) {
            return;
        }
        List<Entry> forKey = entries.get(key);
        for (Entry e : forKey) {
            if (e.weights == weights && --e.users == 0) {
                forKey.remove(e);
                keys.remove(weights);
                if (forKey.isEmpty()) {
                    entries.remove(key);
                }
                weights.free();
                return;
            }
        }
    }

    /** Bytes of packed weights held now. */
    synchronized long bytes() {
        return keys.keySet().stream().mapToLong(PackedWeights::bytes).sum();
    }

    /** Frees everything, whoever still holds it (the backend is closing). */
    synchronized void close() {
        keys.keySet().forEach(PackedWeights::free);
        keys.clear();
        entries.clear();
    }
}
