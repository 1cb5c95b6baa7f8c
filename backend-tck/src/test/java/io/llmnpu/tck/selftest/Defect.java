package io.llmnpu.tck.selftest;

/**
 * Mistakes the self-test plants in {@link ReferenceTestBackend} to prove that the conformance suite
 * notices them. Each one is a bug real backends have had.
 */
enum Defect {
    /** RmsNorm divides by sqrt(mean(x^2)) and forgets eps. */
    RMSNORM_IGNORES_EPS,
    /** Rope rotates adjacent pairs even when the op asks for NEOX halves. */
    NEOX_ROTATES_ADJACENT_PAIRS,
    /** Attention maps query head h to KV head h % kvHeads instead of h / (heads / kvHeads). */
    GQA_INTERLEAVED_HEADS,
    /** Q4_0 decoding puts the low nibble at element 2j and the high one at 2j + 1. */
    Q4_0_INTERLEAVED_NIBBLES,
    /** execute trusts the bindings: no check of presence, shape or type. */
    NO_BINDING_VALIDATION,
    /** Linear accumulates in one buffer per device, so two compiled graphs running at once collide. */
    SHARED_ACCUMULATOR,
    /** CompiledGraph.close() neither frees the graph's memory nor stops it from running. */
    LEAKY_CLOSE,
    /** Backend.close() neither stops the worker threads nor stops compiled graphs from running. */
    UNPLUG_IGNORED,
    /** Compiling an unsupported op throws IllegalArgumentException rather than BackendException. */
    UNSUPPORTED_THROWS_ILLEGAL_ARGUMENT,
    /**
     * execute runs on the caller's thread without checking whether the graph was closed, so a closed
     * graph reaches its freed arena and FFM's IllegalStateException escapes. (It also leaves the worker
     * threads unused, which would hide {@link #UNPLUG_IGNORED}, so the self-test plants it alone.)
     */
    USE_AFTER_CLOSE_UNCHECKED,
    /** QuantizedLinear truncates activations to INT8 codes instead of rounding them to nearest. */
    INT8_CODES_TRUNCATED,
    /** ShadowMerge adds saturated NPU outputs like any other instead of recomputing them in float. */
    SATURATION_NOT_REPAIRED
}
