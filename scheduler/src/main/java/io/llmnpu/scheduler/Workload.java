package io.llmnpu.scheduler;

/**
 * How much a task computes and moves: the two inputs of a roofline estimate.
 *
 * @param operations arithmetic operations (a multiply-add counts two), in the task's arithmetic
 * @param bytes      bytes read and written to memory (weights, activations, KV cache)
 */
public record Workload(double operations, double bytes) {

    public Workload {
        if (!(operations >= 0) || !(bytes >= 0) || Double.isInfinite(operations) || Double.isInfinite(bytes)) {
            throw new IllegalArgumentException("workload needs finite, non-negative operations and bytes, got "
                    + operations + " ops / " + bytes + " bytes");
        }
    }
}
