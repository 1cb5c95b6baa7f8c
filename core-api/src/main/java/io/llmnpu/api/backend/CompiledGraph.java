package io.llmnpu.api.backend;

import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.Tensor;
import java.util.Map;

/**
 * A subgraph ready to run on one device. It owns its scratch memory, so one compiled graph runs one
 * execution at a time; compile the graph twice to run it concurrently.
 */
public interface CompiledGraph extends AutoCloseable {

    Subgraph graph();

    /**
     * Runs the graph. {@code bindings} gives a tensor for every graph input (read, and for state such
     * as the KV cache, updated in place) and every graph output (written). Shapes and dtypes must match
     * the values exactly.
     *
     * @throws BackendException if a binding is missing or mismatched, or the device fails
     */
    void execute(Map<Value, Tensor> bindings);

    /** Releases scratch memory; the graph cannot run afterwards. */
    @Override
    void close();
}
