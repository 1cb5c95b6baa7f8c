package io.llmnpu.backend.opencl;

import io.llmnpu.api.tensor.DType;
import java.util.Locale;

/**
 * Names of the dtype-specialised kernels (e.g. {@code gemv_q8_0}) and the type codes of kernels that
 * take the weight type as an argument.
 */
final class KernelNames {
    private KernelNames() {
    }

    static String forWeight(String kernel, DType weightType) {
        return kernel + "_" + weightType.name().toLowerCase(Locale.ROOT);
    }

    /** The {@code WT_*} code of common.cl for a weight type. */
    static int weightCode(DType weightType) {
        return switch (weightType) {
            case F32 -> 0;
            case F16 -> 1;
            case BF16 -> 2;
            case Q8_0 -> 3;
            case Q4_0 -> 4;
            case Q4_K -> 5;
            case Q6_K -> 6;
            default -> throw new IllegalArgumentException("no kernels for weights of type " + weightType);
        };
    }
}
