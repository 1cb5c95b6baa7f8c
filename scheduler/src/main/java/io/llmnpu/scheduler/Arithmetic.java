package io.llmnpu.scheduler;

/** The number format a task computes in, which decides which devices can run it and how fast. */
public enum Arithmetic {
    /** Matrix multiplication of INT8 weights by INT8 activations, accumulated in INT32. */
    INT8_MATMUL,
    /** Floating-point work (FP16 or FP32, whichever the device does best). */
    FLOAT
}
