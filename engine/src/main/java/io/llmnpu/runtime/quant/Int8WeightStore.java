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
    private final boolean shapesOnly;

    public Int8WeightStore() {
        this(false);
    }

    private Int8WeightStore(boolean shapesOnly) {
        this.shapesOnly = shapesOnly;
    }

    /**
     * A store for models that exist only as shapes (planning, simulation): it hands out INT8 weights of the
     * right shape over memory that is never read, and reads no float weight.
     */
    public static Int8WeightStore shapesOnly() {
        return new Int8WeightStore(true);
    }

    public synchronized Int8Weights get(Tensor weight, Int8Weights.Granularity granularity) {
        return weights.computeIfAbsent(new Key(weight.name(), granularity), k -> shapesOnly
                ? new Int8Weights(weight.name(), weight.shape(),
                        java.lang.foreign.MemorySegment.NULL.reinterpret(weight.shape().elements()), new float[] {1f})
                : WeightQuantizer.quantize(weight, granularity, arena));
    }

    @Override
    public synchronized void close() {
        weights.clear();
        arena.close();
    }
}
