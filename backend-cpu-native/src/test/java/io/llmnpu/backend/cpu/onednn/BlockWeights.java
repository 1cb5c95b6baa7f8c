package io.llmnpu.backend.cpu.onednn;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.backend.cpu.WeightElements;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Test weights in GGUF's Q8_0 and Q4_0 block layouts, and their exact values for references. */
final class BlockWeights {

    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private BlockWeights() {
    }

    /** {@code values} [n, k] (k a multiple of 32) quantized to {@code dtype} blocks, a scale per 32 values. */
    static Tensor encode(Arena arena, DType dtype, float[] values, int n, int k) {
        Tensor t = Tensor.allocate(arena, "w", dtype, Shape.of(n, k));
        MemorySegment w = t.data();
        for (int b = 0; b < n * k / 32; b++) {
            long at = (long) b * dtype.blockBytes();
            float max = 0;
            for (int j = 0; j < 32; j++) {
                max = Math.max(max, Math.abs(values[b * 32 + j]));
            }
            float d = dtype == DType.Q8_0 ? max / 127 : max / 8;
            short half = Float.floatToFloat16(d);
            w.set(F16, at, half);
            float inverse = d == 0 ? 0 : 1 / Float.float16ToFloat(half);
            for (int j = 0; j < 32; j++) {
                int q = Math.round(values[b * 32 + j] * inverse);
                if (dtype == DType.Q8_0) {
                    w.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) Math.max(-127, Math.min(127, q)));
                } else {
                    int nibble = Math.max(0, Math.min(15, q + 8));
                    long byteAt = at + 2 + (j & 15);
                    int old = w.get(ValueLayout.JAVA_BYTE, byteAt) & 0xFF;
                    w.set(ValueLayout.JAVA_BYTE, byteAt, (byte) (j < 16 ? (old & 0xF0) | nibble : (old & 0x0F) | nibble << 4));
                }
            }
        }
        return t;
    }

    /** The exact value of every weight, as the kernels decode it. */
    static double[][] decode(Tensor w) {
        int n = w.shape().dim(0);
        int k = w.shape().dim(1);
        double[][] values = new double[n][k];
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < k; c++) {
                values[r][c] = WeightElements.get(w.dtype(), w.data(), r, c, k);
            }
        }
        return values;
    }
}
