package io.llmnpu.runtime.engine;

import io.llmnpu.runtime.graph.ModelGraphBuilder;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.ModelConfig;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.List;

/**
 * Keys and values of every layer for one sequence: per layer two F32 tensors of
 * [capacity, kvDim]. Row p holds position p. Owned by one generation; closing frees it.
 */
public final class KvCache implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final List<Tensor> keys = new ArrayList<>();
    private final List<Tensor> values = new ArrayList<>();
    private final Map<String, Tensor> byName = new HashMap<>();
    /** Which device last wrote each tensor, by name: how a device that keeps its own copy knows it is stale. */
    private final Map<String, Object> writers = new HashMap<>();
    private final int capacity;

    public KvCache(ModelConfig config, int capacity) {
        if (capacity <= 0 || capacity > config.contextLength()) {
            throw new IllegalArgumentException(
                    "KV cache capacity " + capacity + " must be in 1.." + config.contextLength());
        }
        this.capacity = capacity;
        Shape shape = Shape.of(capacity, config.kvDim());
        for (int l = 0; l < config.layers(); l++) {
            keys.add(Tensor.allocate(arena, ModelGraphBuilder.keyCacheName(l), DType.F32, shape));
            values.add(Tensor.allocate(arena, ModelGraphBuilder.valueCacheName(l), DType.F32, shape));
            byName.put(ModelGraphBuilder.keyCacheName(l), keys.getLast());
            byName.put(ModelGraphBuilder.valueCacheName(l), values.getLast());
        }
    }

    /** Number of positions the cache can hold. */
    public int capacity() {
        return capacity;
    }

    public Tensor keys(int layer) {
        return keys.get(layer);
    }

    public Tensor values(int layer) {
        return values.get(layer);
    }

    /**
     * The cache tensor a graph input named {@code name} stands for: {@code cache_k.L} or {@code cache_v.L}
     * (see {@link ModelGraphBuilder#keyCacheName}).
     *
     * @throws IllegalArgumentException for any other name
     */
    public Tensor tensor(String name) {
        Tensor t = byName.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no KV cache tensor named " + name);
        }
        return t;
    }

    /** The device that last wrote tensor {@code name} through a graph, or null. */
    public synchronized Object lastWriter(String name) {
        return writers.get(name);
    }

    /** Records that {@code device} just wrote tensor {@code name}. */
    public synchronized void wrote(String name, Object device) {
        writers.put(name, device);
    }

    /** Bytes held by the cache. */
    public long byteSize() {
        return keys.stream().mapToLong(Tensor::byteSize).sum() * 2;
    }

    @Override
    public void close() {
        arena.close();
    }
}
