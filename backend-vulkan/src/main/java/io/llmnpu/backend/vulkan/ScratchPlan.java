package io.llmnpu.backend.vulkan;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Value;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which scratch buffer each intermediate value of a graph lives in, by liveness: a value takes a free
 * buffer when its op runs, and the buffer is free again after the last op that reads the value. An
 * op's outputs are placed before its inputs are released, so no shader writes a buffer it also reads.
 * Values the caller binds (graph inputs, outputs, states) get buffers of their own elsewhere. Scratch
 * thus follows the largest set of values alive at once (about two layers), not the number of layers.
 * A value takes the smallest free buffer that holds it, else the largest free one grows to fit, else a
 * new buffer is added.
 *
 * @param bufferOf value id to scratch buffer index
 * @param bytes    size of each scratch buffer
 */
record ScratchPlan(Map<Integer, Integer> bufferOf, List<Long> bytes) {

    static ScratchPlan of(List<Op> ops, Set<Integer> bound) {
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
                    if (buffer != null && lastRead.getOrDefault(v.id(), i) == i && released.add(v.id())) {
                        free.add(buffer);
                    }
                }
            }
        }
        return new ScratchPlan(Map.copyOf(bufferOf), List.copyOf(sizes));
    }

    private static int take(List<Integer> free, List<Long> sizes, long need) {
        int best = -1;
        int largest = -1;
        for (int i = 0; i < free.size(); i++) {
            long size = sizes.get(free.get(i));
            if (size >= need && (best < 0 || size < sizes.get(free.get(best)))) {
                best = i;
            }
            if (largest < 0 || size > sizes.get(free.get(largest))) {
                largest = i;
            }
        }
        int pick = best >= 0 ? best : largest;
        if (pick < 0) {
            sizes.add(need);
            return sizes.size() - 1;
        }
        int buffer = free.remove(pick);
        sizes.set(buffer, Math.max(sizes.get(buffer), need));
        return buffer;
    }

    long totalBytes() {
        return bytes.stream().mapToLong(Long::longValue).sum();
    }
}
