package io.llmnpu.backend.support;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Value;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which scratch buffer each intermediate value of a graph lives in, assigned by liveness: a value takes
 * a free buffer when its op runs, and its buffer is free again once the last op that reads it has run.
 * An op's outputs are placed before its inputs are released, so no kernel ever writes memory it is
 * still reading; values the caller binds (graph inputs, outputs, states) are never placed, so they never
 * share memory with anything. Scratch thus follows the largest set of values alive at once, about two
 * layers' worth, instead of growing with the number of layers. Every backend that runs its ops in order
 * (one thread after another, an in-order queue, a command buffer with barriers) can reuse memory so.
 *
 * <p>A value takes the smallest free buffer that holds it; when none does, the largest free buffer grows
 * to fit (its size is only fixed once planning ends), and only when none is free is a new one added.
 *
 * @param bufferIndex value id to scratch buffer index, for every intermediate value
 * @param bufferSizes bytes of each scratch buffer
 */
public record BufferLivenessPlan(Map<Integer, Integer> bufferIndex, List<Long> bufferSizes) {

    public BufferLivenessPlan {
        bufferIndex = Map.copyOf(bufferIndex);
        bufferSizes = List.copyOf(bufferSizes);
    }

    /**
     * @param ops   the graph's ops in execution order
     * @param bound ids of the values the caller binds, which get no buffer
     */
    public static BufferLivenessPlan of(List<Op> ops, Set<Integer> bound) {
        Map<Integer, Integer> lastRead = new HashMap<>();
        for (int i = 0; i < ops.size(); i++) {
            for (Value v : ops.get(i).inputs()) {
                lastRead.put(v.id(), i);
            }
        }
        Map<Integer, Integer> bufferOf = new HashMap<>();
        List<Long> sizes = new ArrayList<>();
        List<Integer> free = new ArrayList<>();
        for (int i = 0; i < ops.size(); i++) {
            Op op = ops.get(i);
            for (Value v : op.outputs()) {
                if (!bound.contains(v.id())) {
                    bufferOf.put(v.id(), take(free, sizes, v.dtype().byteSize(v.shape().elements())));
                }
            }
            Set<Integer> released = new HashSet<>();
            for (List<Value> values : List.of(op.inputs(), op.outputs())) {
                for (Value v : values) {
                    Integer buffer = bufferOf.get(v.id());
                    // A value nobody reads dies where it is made.
                    boolean dead = lastRead.getOrDefault(v.id(), i) == i;
                    if (buffer != null && dead && released.add(v.id())) {
                        free.add(buffer);
                    }
                }
            }
        }
        return new BufferLivenessPlan(bufferOf, sizes);
    }

    /** The smallest free buffer that fits, else the largest free one grown to fit, else a new buffer. */
    private static int take(List<Integer> free, List<Long> sizes, long bytes) {
        int best = -1;
        int largest = -1;
        for (int i = 0; i < free.size(); i++) {
            long size = sizes.get(free.get(i));
            if (size >= bytes && (best < 0 || size < sizes.get(free.get(best)))) {
                best = i;
            }
            if (largest < 0 || size > sizes.get(free.get(largest))) {
                largest = i;
            }
        }
        int pick = best >= 0 ? best : largest;
        if (pick < 0) {
            sizes.add(bytes);
            return sizes.size() - 1;
        }
        int buffer = free.remove(pick);
        sizes.set(buffer, Math.max(sizes.get(buffer), bytes));
        return buffer;
    }

    /**
     * The buffer of intermediate value {@code valueId}.
     *
     * @throws IllegalArgumentException for a bound value, which has no scratch buffer
     */
    public int bufferOf(int valueId) {
        Integer b = bufferIndex.get(valueId);
        if (b == null) {
            throw new IllegalArgumentException("value %" + valueId + " has no scratch buffer (it is bound)");
        }
        return b;
    }

    public int buffers() {
        return bufferSizes.size();
    }

    public long bufferBytes(int buffer) {
        return bufferSizes.get(buffer);
    }

    /** Bytes of all buffers together. */
    public long totalBytes() {
        return bufferSizes.stream().mapToLong(Long::longValue).sum();
    }
}
