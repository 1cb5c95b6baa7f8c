package io.llmnpu.backend.cpu;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.Tensor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Compiles and runs a graph of one op whose inputs are all graph inputs and whose outputs are all graph outputs. */
final class SingleOpGraphs {

    private SingleOpGraphs() {
    }

    /**
     * @param build   creates the op from the builder (declare inputs with {@code b.input})
     * @param tensors a tensor for every input and output value, by value name
     */
    static void run(Backend backend, java.util.function.Function<SubgraphBuilder, Op> build,
                    Map<String, Tensor> tensors) {
        SubgraphBuilder b = new SubgraphBuilder("single-op");
        Op op = build.apply(b);
        b.add(op);
        op.outputs().forEach(b::output);
        Map<Value, Tensor> bindings = new HashMap<>();
        for (Value v : concat(op.inputs(), op.outputs())) {
            bindings.put(v, tensors.get(v.name()));
        }
        try (CompiledGraph g = backend.devices().getFirst().compile(b.build())) {
            g.execute(bindings);
        }
    }

    private static List<Value> concat(List<Value> a, List<Value> b) {
        return java.util.stream.Stream.concat(a.stream(), b.stream()).toList();
    }
}
