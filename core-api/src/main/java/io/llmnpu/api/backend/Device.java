package io.llmnpu.api.backend;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import java.util.Set;

/** One processor of a backend, able to compile and run subgraphs. */
public interface Device {

    /** A stable name, unique within its backend (e.g. {@code cpu0}). */
    String name();

    DeviceKind kind();

    Set<Capability> capabilities();

    /** Memory available to tensors on this device, in bytes. */
    long memoryBytes();

    /** Whether and how fast this device runs {@code op} at the shapes of its values. */
    Affinity affinity(Op op);

    /**
     * Prepares {@code graph} for execution at its static shapes (weight packing, kernel selection,
     * scratch allocation).
     *
     * @throws BackendException if an op is unsupported or the graph cannot be prepared
     */
    CompiledGraph compile(Subgraph graph);
}
