package io.llmnpu.backend.support;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import java.util.Map;

/**
 * The checks every compiled graph makes before it compiles or runs: that neither it nor its backend is
 * closed, and that the caller passed bindings at all. A use after close must fail with a message that
 * names the graph and says what was closed, on every backend alike, rather than touch freed memory.
 */
public final class GraphLifecycle {
    private GraphLifecycle() {
    }

    /** @throws BackendException if {@code backendClosed}: no new graph may be compiled on a closed backend */
    public static void requireCompilable(Subgraph graph, String backend, boolean backendClosed) {
        if (backendClosed) {
            throw new BackendException("cannot compile graph " + graph.name() + ": the " + backend + " backend is closed");
        }
    }

    /** @throws BackendException if the graph was closed */
    public static void requireOpen(Subgraph graph, boolean graphClosed) {
        if (graphClosed) {
            throw new BackendException("graph " + graph.name() + " was closed and cannot run");
        }
    }

    /**
     * @param backend the backend's name as users see it ("cpu", "npu-ref", an OpenCL device's name)
     * @throws BackendException if the graph or the backend it was compiled on was closed
     */
    public static void requireRunnable(Subgraph graph, boolean graphClosed, String backend, boolean backendClosed) {
        requireOpen(graph, graphClosed);
        if (backendClosed) {
            throw new BackendException("graph " + graph.name() + " cannot run: its " + backend + " backend was closed");
        }
    }

    /** @throws BackendException if {@code bindings} is null; each value's tensor is checked by the backend */
    public static <T> Map<Value, T> requireBindings(Subgraph graph, Map<Value, T> bindings) {
        if (bindings == null) {
            throw new BackendException("graph " + graph.name() + ": bindings must not be null");
        }
        return bindings;
    }
}
