package io.llmnpu.api.backend;

/** Properties of a device that change how work must be prepared for it. */
public enum Capability {
    /** Graphs are compiled for one shape each; a new shape needs an explicit compile. */
    STATIC_SHAPES_ONLY,
    /** Matrix work only in integer arithmetic (INT8 in, INT32 accumulate). */
    INT8_ONLY,
    /** Execution can overlap with the caller and with other devices. */
    ASYNC,
    /** Device memory is the host's memory: tensors need no upload or download. */
    HOST_VISIBLE_MEMORY
}
