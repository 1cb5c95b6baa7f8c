package io.llmnpu.backend.npu.reference;

import io.llmnpu.api.graph.FixedPointMultiplier;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * The NPU's egress for one linear layer. With an output scale, INT32 accumulators are first
 * requantized to INT16 in integer arithmetic (fixed-point multiply, rounding shift, saturation at
 * +-32767), as the hardware hands activations to the next op; the graph edge then dequantizes the
 * INT16 codes to float. Without one, the edge dequantizes the accumulators directly.
 */
final class OutputStage {

    private OutputStage() {
    }

    static void write(PackedLinear p, int[] acc, int accStride, int tokens, MemorySegment out) {
        int rows = p.rows();
        for (int t = 0; t < tokens; t++) {
            int a = t * accStride;
            long o = (long) t * rows * Float.BYTES;
            if (p.requantizes()) {
                int[] mantissa = p.requantMantissa();
                int[] exponent = p.requantExponent();
                float outputScale = p.outputScale();
                for (int r = 0; r < rows; r++) {
                    int q16 = FixedPointMultiplier.apply(acc[a + r], mantissa[r], exponent[r],
                            Op.QuantizedLinear.OUTPUT_LIMIT);
                    out.set(Tensor.F32_LE, o + (long) r * Float.BYTES, q16 * outputScale);
                }
            } else {
                float[] dequant = p.dequant();
                for (int r = 0; r < rows; r++) {
                    out.set(Tensor.F32_LE, o + (long) r * Float.BYTES, acc[a + r] * dequant[r]);
                }
            }
        }
    }
}
