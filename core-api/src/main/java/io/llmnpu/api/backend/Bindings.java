package io.llmnpu.api.backend;

import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.Tensor;
import java.util.Map;

/**
 * The binding rules of {@link CompiledGraph#execute}, in one place for every backend: each graph
 * input and output needs a tensor of exactly its dtype and shape, and a tensor the graph writes must
 * be writable.
 */
public final class Bindings {
    private Bindings() {
    }

    /**
     * The tensor bound to {@code value}.
     *
     * @param written whether the graph writes the value (an output, or an input updated in place)
     * @throws BackendException if it is missing, of another dtype or shape, or read-only but written
     */
    public static Tensor require(Subgraph graph, Map<Value, Tensor> bound, Value value, boolean written) {
        String role = written ? (graph.inputs().contains(value) ? "input (updated in place)" : "output") : "input";
        Tensor t = bound.get(value);
        if (t == null) {
            throw new BackendException("graph " + graph.name() + ": no tensor bound for " + role + " " + value);
        }
        if (t.dtype() != value.dtype() || !t.shape().equals(value.shape())) {
            throw new BackendException("graph " + graph.name() + ": " + role + " " + value + " is bound to tensor "
                    + t + " whose dtype or shape differs (they must match exactly); graphs are compiled for static shapes, "
                    + "compile again for a new one");
        }
        if (written && t.data().isReadOnly()) {
            throw new BackendException("graph " + graph.name() + ": " + role + " " + value + " is bound to read-only "
                    + "tensor " + t + " but the graph writes it");
        }
        return t;
    }
}
