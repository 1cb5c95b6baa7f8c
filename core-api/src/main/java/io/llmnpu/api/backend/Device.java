package io.llmnpu.api.backend;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.tensor.Tensor;
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

    /** Where this device keeps state tensors between executions; {@link StateResidency#HOST} unless it says otherwise. */
    default StateResidency stateResidency() {
        return StateResidency.HOST;
    }

    /**
     * The host tensor {@code state} was changed by someone other than this device since this device last
     * ran a graph on it: a {@link StateResidency#DEVICE} device drops its copy and reads the host tensor
     * at its next execution. Devices of {@link StateResidency#HOST} need not do anything.
     */
    default void stateChanged(Tensor state) {
    }
}
