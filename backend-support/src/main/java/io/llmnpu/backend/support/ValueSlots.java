package io.llmnpu.backend.support;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A slot number for every value of a graph, in the order a host-side backend keeps its tensors in an
 * array (graph inputs first, then each op's outputs as the ops run), and the values the caller binds:
 * the graph's inputs and outputs, each with its slot and whether the graph writes it.
 *
 * @param values the value in each slot
 * @param slotOf value id to slot
 * @param bound  the values the caller binds, by value id, inputs first
 */
public record ValueSlots(List<Value> values, Map<Integer, Integer> slotOf, Map<Integer, Bound> bound) {

    /** A graph input or output the caller must bind, its slot, and whether the graph writes it. */
    public record Bound(Value value, int slot, boolean written) {
    }

    public ValueSlots {
        values = List.copyOf(values);
        slotOf = Map.copyOf(slotOf);
        bound = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(bound));
    }

    /**
     * @param writtenInputs ids of the graph inputs the graph updates in place (e.g. KV caches); every
     *                      output counts as written
     */
    public static ValueSlots of(Subgraph graph, Set<Integer> writtenInputs) {
        Map<Integer, Integer> slotOf = new HashMap<>();
        List<Value> values = new ArrayList<>();
        for (Value v : graph.inputs()) {
            slotOf.put(v.id(), values.size());
            values.add(v);
        }
        for (Op op : graph.ops()) {
            for (Value v : op.outputs()) {
                slotOf.put(v.id(), values.size());
                values.add(v);
            }
        }
        Map<Integer, Bound> bound = new LinkedHashMap<>();
        for (Value v : graph.inputs()) {
            bound.put(v.id(), new Bound(v, slotOf.get(v.id()), writtenInputs.contains(v.id())));
        }
        for (Value v : graph.outputs()) {
            bound.putIfAbsent(v.id(), new Bound(v, slotOf.get(v.id()), true));
        }
        return new ValueSlots(values, slotOf, bound);
    }

    /** The slot of {@code v}. */
    public int slot(Value v) {
        return slotOf.get(v.id());
    }
}
