package io.llmnpu.backend.cpu.onednn;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.backend.cpu.ParallelLoop;
import io.llmnpu.backend.cpu.WeightRows;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Block-quantized weights (Q8_0, Q4_0: a scale per 32 values) to int8 codes with one scale per row,
 * the form oneDNN's int8 matmul takes (it scales whole output channels, not blocks along K). Each row
 * is decoded exactly as the Vector API kernels read it ({@link WeightRows}), its largest magnitude
 * becomes code 127, and every value is rounded to the nearest code.
 *
 * <p>What this costs in accuracy: a Q8_0 block whose scale is the row's largest keeps its codes
 * exactly; a block with a smaller scale is rounded to the row's step, an error of at most half a step
 * (about 0.7% of a weight's magnitude, root mean square, for Gaussian-like rows). Q4_0 values sit on a
 * grid 16 times coarser than the int8 one, so they barely move.
 */
final class RowRequantizer {

    /** Work per task: a few rows of a wide matrix. */
    private static final int MIN_TASK_VALUES = 1 << 16;

    private RowRequantizer() {
    }

    /**
     * Writes the codes of {@code weight} [n, k] to {@code codes} (row-major, n * k bytes) and returns
     * the scale of every row.
     *
     * @throws BackendException if a weight is NaN or infinite (no int8 code stands for it)
     */
    static float[] requantize(Tensor weight, MemorySegment codes, ParallelLoop loop) {
        int n = weight.shape().dim(0);
        int k = weight.shape().dim(1);
        WeightRows rows = WeightRows.of(weight.dtype());
        float[] scales = new float[n];
        AtomicReference<String> bad = new AtomicReference<>();
        loop.forRange(n, Math.max(1, MIN_TASK_VALUES / k), (from, to) -> {
            float[] row = new float[k];
            for (int r = from; r < to; r++) {
                rows.widen(weight.data(), r, k, row, 0);
                float max = Int8Codes.absMax(row, 0, k);
                if (!Float.isFinite(max)) {
                    bad.compareAndSet(null, "row " + r + " holds a NaN or infinite value");
                    continue;
                }
                float scale = max / Int8Codes.LIMIT;
                scales[r] = scale;
                if (scale == 0) {
                    codes.asSlice((long) r * k, k).fill((byte) 0);
                } else {
                    Int8Codes.encode(row, 0, k, scale, codes, (long) r * k);
                }
            }
        });
        if (bad.get() != null) {
            throw new BackendException("weights " + weight + ": " + bad.get() + "; they cannot be multiplied in int8");
        }
        return scales;
    }
}
