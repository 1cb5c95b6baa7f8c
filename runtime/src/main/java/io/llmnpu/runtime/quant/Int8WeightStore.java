package io.llmnpu.runtime.quant;

import io.llmnpu.api.tensor.Int8Weights;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.HashMap;
import java.util.Map;

/**
 * INT8 copies of a model's weight matrices, made on first request and shared by every configuration
 * that asks for the same tensor at the same granularity. Closing it frees them all.
 */
public final class Int8WeightStore implements AutoCloseable {

    private record Key(String tensor, Int8Weights.Granularity granularity) {
    }

    private final Arena arena = Arena.ofShared();
    private final Map<Key, Int8Weights> weights = new HashMap<>();

    public synchronized Int8Weights get(Tensor weight, Int8Weights.Granularity granularity) {
        return weights.computeIfAbsent(new Key(weight.name(), granularity),
                k -> WeightQuantizer.quantize(weight, granularity, arena));
    }

    @Override
    public synchronized void close() {
        weights.clear();
        arena.close();
    }
}
