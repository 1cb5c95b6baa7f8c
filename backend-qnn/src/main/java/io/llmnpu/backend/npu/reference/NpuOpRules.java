package io.llmnpu.backend.npu.reference;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;

/**
 * What the reference NPU accepts: INT8 linear layers only, with static F32 edges of matching shapes.
 * Everything else is float work, which an NPU either cannot run or runs far slower than the CPU.
 */
final class NpuOpRules {

    private NpuOpRules() {
    }

    /** Why the NPU cannot run {@code op}, or the empty string if it can. */
    static String problem(Op op) {
        return switch (op) {
            case Op.QuantizedLinear q -> linearProblem(q);
            default -> "npu-ref runs only INT8 QuantizedLinear ops; " + op.getClass().getSimpleName()
                    + " is float work for the CPU or GPU";
        };
    }

    private static String linearProblem(Op.QuantizedLinear q) {
        Value in = q.in();
        Value out = q.out();
        if (in.dtype() != DType.F32 || out.dtype() != DType.F32) {
            return "QuantizedLinear edges must be F32 (the NPU quantizes and dequantizes them), got "
                    + in + " -> " + out;
        }
        if (in.shape().rank() == 0 || out.shape().rank() == 0) {
            return "QuantizedLinear needs [tokens, features] values, got " + in + " -> " + out;
        }
        int cols = q.weights().cols();
        int rows = q.weights().rows();
        if (in.shape().cols() != cols) {
            return "input " + in + " has " + in.shape().cols() + " columns but weights " + q.weights() + " expect " + cols;
        }
        if (out.shape().cols() != rows || out.shape().rows() != in.shape().rows()) {
            return "output " + out + " must be [" + in.shape().rows() + ", " + rows + "] for input " + in
                    + " and weights " + q.weights();
        }
        if (cols > WeightPacker.MAX_COLS) {
            return "weights " + q.weights() + " have more than " + WeightPacker.MAX_COLS
                    + " input features; INT32 accumulators could overflow";
        }
        return "";
    }
}
