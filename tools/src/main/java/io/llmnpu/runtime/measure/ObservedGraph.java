package io.llmnpu.runtime.measure;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A graph with some of its intermediate values made outputs, so that a backend hands them back: the
 * way calibration sees the inputs of every linear layer without a hook inside any backend.
 */
final class ObservedGraph {

    private ObservedGraph() {
    }

    /**
     * {@code graph} with the values named {@code names} added to its outputs.
     *
     * @throws IllegalArgumentException naming a value the graph does not produce
     */
    static Subgraph withOutputs(Subgraph graph, List<String> names) {
        Map<String, Value> produced = new HashMap<>();
        for (Op op : graph.ops()) {
            for (Value v : op.outputs()) {
                produced.put(v.name(), v);
            }
        }
        List<Value> outputs = new ArrayList<>(graph.outputs());
        for (String name : names) {
            Value v = produced.get(name);
            if (v == null) {
                throw new IllegalArgumentException("graph " + graph.name() + " produces no value named " + name);
            }
            if (!outputs.contains(v)) {
                outputs.add(v);
            }
        }
        return new Subgraph(graph.name() + "-observed", graph.inputs(), graph.ops(), outputs);
    }
}
