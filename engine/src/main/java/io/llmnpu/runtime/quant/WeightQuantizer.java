package io.llmnpu.runtime.quant;

import io.llmnpu.api.tensor.Dequantizer;
import io.llmnpu.api.tensor.Int8Weights;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Turns a float weight matrix of any dtype into symmetric INT8: {@code q = clamp(rint(w / scale),
 * -127, 127)} with {@code scale = absmax / 127} over the whole tensor or over each row.
 */
public final class WeightQuantizer {

    private WeightQuantizer() {
    }

    public static Int8Weights quantize(Tensor weight, Int8Weights.Granularity granularity, Arena arena) {
        if (weight.shape().rank() != 2) {
            throw new IllegalArgumentException("weight " + weight + " is not a matrix");
        }
        int rows = weight.shape().dim(0);
        int cols = weight.shape().dim(1);
        long rowBytes = weight.dtype().byteSize(cols);
        float[] rowMax = new float[rows];
        float tensorMax = 0;
        for (int r = 0; r < rows; r++) {
            float[] w = decode(weight, r, cols, rowBytes);
            float m = 0;
            for (float v : w) {
                m = Math.max(m, Math.abs(v));
            }
            rowMax[r] = m;
            tensorMax = Math.max(tensorMax, m);
        }
        boolean perRow = granularity == Int8Weights.Granularity.PER_OUTPUT_CHANNEL;
        float[] scales = new float[perRow ? rows : 1];
        for (int i = 0; i < scales.length; i++) {
            float m = perRow ? rowMax[i] : tensorMax;
            scales[i] = m > 0 ? m / 127f : 1f;
        }
        MemorySegment codes = arena.allocate((long) rows * cols, 64);
        for (int r = 0; r < rows; r++) {
            float[] w = decode(weight, r, cols, rowBytes);
            float scale = scales[perRow ? r : 0];
            for (int c = 0; c < cols; c++) {
                double q = Math.max(-127, Math.min(127, Math.rint(w[c] / scale)));
                codes.set(ValueLayout.JAVA_BYTE, (long) r * cols + c, (byte) q);
            }
        }
        return new Int8Weights(weight.name(), weight.shape(), codes, scales);
    }

    private static float[] decode(Tensor weight, int row, int cols, long rowBytes) {
        return Dequantizer.dequantize(weight.dtype(), weight.data().asSlice(row * rowBytes, rowBytes), cols);
    }
}
