package io.llmnpu.backend.npu.reference;

import io.llmnpu.api.graph.Op;

/**
 * Time estimates for the reference NPU, from what its kernels measure on a Vector API CPU: about
 * 40 G INT8 operations a second per core (a multiply-add counts as two), the float edges (quantize, dequantize) at
 * memory speed, and a fixed cost per launch. A real NPU publishes its own figures through its backend.
 */
record NpuCostModel(int cores) {

    static final double INT8_OPS_PER_SECOND_PER_CORE = 40e9;
    static final double EDGE_BYTES_PER_SECOND = 5e9;
    static final double LAUNCH_SECONDS = 20e-6;

    double seconds(Op.QuantizedLinear q) {
        double tokens = q.in().shape().rows();
        double ops = 2.0 * tokens * q.weights().shape().elements();
        double edges = 4.0 * (q.in().shape().elements() + q.out().shape().elements());
        return LAUNCH_SECONDS + ops / (INT8_OPS_PER_SECOND_PER_CORE * cores) + edges / EDGE_BYTES_PER_SECOND;
    }
}
