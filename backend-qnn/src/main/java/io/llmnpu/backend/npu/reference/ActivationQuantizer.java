package io.llmnpu.backend.npu.reference;

import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * The NPU's ingress: float activations to per-tensor INT8 codes with a static scale, {@code q =
 * clamp(rint(x / scale), -127, 127)}. Values beyond the range saturate, as on the hardware; the
 * shadow path on the CPU restores what they lose. Codes are stored widened to ints, the form the GEMM
 * reads; columns past {@code cols} (slice padding) are left at zero.
 */
final class ActivationQuantizer {

    static final int LIMIT = 127;

    private ActivationQuantizer() {
    }

    static void quantize(MemorySegment in, int tokens, int cols, float scale, int[] codes, int stride) {
        for (int t = 0; t < tokens; t++) {
            long rowOff = (long) t * cols * Float.BYTES;
            int dst = t * stride;
            for (int c = 0; c < cols; c++) {
                codes[dst + c] = code(in.get(Tensor.F32_LE, rowOff + (long) c * Float.BYTES), scale);
            }
        }
    }

    /** The code of one value; NaN becomes 0. */
    static int code(float x, float scale) {
        double q = Math.rint(x / scale);
        return (int) Math.max(-LIMIT, Math.min(LIMIT, q));
    }
}
