package io.llmnpu.api.backend;

/**
 * Where a device keeps state tensors (graph inputs an op updates in place, such as KV caches; see
 * {@link io.llmnpu.api.graph.Op#updatedInPlace()}) between executions. The engine reads this to know
 * where data lives: several devices may write the same cache (prefill on one, decode on another), and
 * a device holding its own copy must hear when someone else changed the host tensor.
 */
public enum StateResidency {
    /**
     * The device reads and writes the host tensor itself on every execution (host-visible memory, or
     * a copy made and written back within each execution): nothing to keep coherent.
     */
    HOST,
    /**
     * The device keeps its own copy of a state tensor from one execution to the next. Rows an
     * execution writes are also written back to the host tensor before {@code execute} returns, so the
     * host copy is always current; but the device does not re-read the host tensor until
     * {@link Device#stateChanged} says another device (or the host) changed it.
     */
    DEVICE
}
