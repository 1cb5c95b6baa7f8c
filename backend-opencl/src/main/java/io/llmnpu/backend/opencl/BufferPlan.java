package io.llmnpu.backend.opencl;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Assigns every non-state value of a graph to a device buffer ("slot"). Graph inputs and outputs get
 * slots of their own; an intermediate value's slot returns to a free list after the last op that
 * reads it and is reused by later values, so a many-layer graph needs a few layers' worth of scratch
 * rather than one buffer per value. Reuse is safe because the command queue runs in order.
 *
 * @param slotOf value id to slot index
 * @param slotBytes capacity each slot needs
 */
record BufferPlan(Map<Integer, Integer> slotOf, List<Long> slotBytes) {

    static BufferPlan of(Subgraph graph, Set<Integer> stateIds) {
        Map<Integer, Integer> lastRead = new HashMap<>();
        List<Op> ops = graph.ops();
        for (int i = 0; i < ops.size(); i++) {
            for (Value in : ops.get(i).inputs()) {
                lastRead.put(in.id(), i);
            }
        }
        Set<Integer> pinned = new HashSet<>();
        graph.inputs().forEach(v -> pinned.add(v.id()));
        graph.outputs().forEach(v -> pinned.add(v.id()));

        Map<Integer, Integer> slotOf = new HashMap<>();
        List<Long> slotBytes = new ArrayList<>();
        List<Integer> free = new ArrayList<>();
        for (Value in : graph.inputs()) {
            if (!stateIds.contains(in.id())) {
                slotOf.put(in.id(), slotBytes.size());
                slotBytes.add(bytes(in));
            }
        }
        for (int i = 0; i < ops.size(); i++) {
            Op op = ops.get(i);
            for (Value out : op.outputs()) {
                long need = bytes(out);
                if (pinned.contains(out.id())) {
                    slotOf.put(out.id(), slotBytes.size());
                    slotBytes.add(need);
                } else {
                    int slot = take(free, slotBytes, need);
                    slotOf.put(out.id(), slot);
                }
            }
            Set<Integer> released = new HashSet<>();
            for (Value in : op.inputs()) {
                if (lastRead.get(in.id()) == i && !pinned.contains(in.id()) && released.add(in.id())) {
                    free.add(slotOf.get(in.id()));
                }
            }
            for (Value out : op.outputs()) {
                if (!lastRead.containsKey(out.id()) && !pinned.contains(out.id())) {
                    free.add(slotOf.get(out.id()));
                }
            }
        }
        return new BufferPlan(Map.copyOf(slotOf), List.copyOf(slotBytes));
    }

    /** The smallest free slot that fits, else the largest free one grown to fit, else a new slot. */
    private static int take(List<Integer> free, List<Long> slotBytes, long need) {
        int best = -1;
        for (int i = 0; i < free.size(); i++) {
            long capacity = slotBytes.get(free.get(i));
            if (capacity >= need && (best < 0 || capacity < slotBytes.get(free.get(best)))) {
                best = i;
            }
        }
        if (best < 0 && !free.isEmpty()) {
            for (int i = 0; i < free.size(); i++) {
                if (best < 0 || slotBytes.get(free.get(i)) > slotBytes.get(free.get(best))) {
                    best = i;
                }
            }
        }
        if (best < 0) {
            slotBytes.add(need);
            return slotBytes.size() - 1;
        }
        int slot = free.remove(best);
        slotBytes.set(slot, Math.max(slotBytes.get(slot), need));
        return slot;
    }

    private static long bytes(Value v) {
        return v.dtype().byteSize(v.shape().elements());
    }

    long totalBytes() {
        return slotBytes.stream().mapToLong(Long::longValue).sum();
    }
}
