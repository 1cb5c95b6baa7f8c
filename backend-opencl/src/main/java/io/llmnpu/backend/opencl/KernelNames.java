package io.llmnpu.backend.opencl;

import io.llmnpu.api.tensor.DType;
import java.util.Locale;

/** Kernel names of the dtype-specialised kernels, e.g. {@code gemv_q8_0}. */
final class KernelNames {
    private KernelNames() {
    }

    static String forWeight(String kernel, DType weightType) {
        return kernel + "_" + weightType.name().toLowerCase(Locale.ROOT);
    }
}
