package io.llmnpu.backend.cpu.onednn;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.backend.cpu.ParallelLoop;
import io.llmnpu.backend.cpu.RowDecoder;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Block-quantized weights (Q8_0, Q4_0: a scale per 32 values) to int8 codes with one scale per row,
 * the form oneDNN's int8 matmul takes (it scales whole output channels, not blocks along K). Each row
 * is decoded exactly as the Vector API kernels read it ({@link RowDecoder}), its largest magnitude
 * becomes code 127, and every value is rounded to the nearest code.
 *
 * <p>What this costs in accuracy: a Q8_0 block whose scale is the row's largest keeps its codes
 * exactly; a block with a smaller scale is rounded to the row's step, an error of at most half a step
 * (about 0.7% of a weight's magnitude, root mean square, for Gaussian-like rows). Q4_0 values sit on a
 * grid 16 times coarser than the int8 one, so they barely move.
 *
 * <p>The code is scalar on purpose: it runs once per weight matrix, when the first prompt is compiled,
 * before the JIT has compiled any vector code, and scalar loops reach compiled speed within the first
 * matrix where Vector API code would run interpreted, a hundred times slower, for seconds.
 */
final class RowRequantizer {

    /** Work per task: a few rows of a wide matrix. */
    private static final int MIN_TASK_VALUES = 1 << 16;

    private RowRequantizer() {
    }

    /**
     * The codes of a weight matrix: {@code value[r][c] ≈ code[r][c] * scales[r]}, and each row's sum of
     * codes (what a source shifted by 128 adds to the row's dot products, 128 times over).
     */
    record Rows(float[] scales, int[] codeSums) {
    }

    /**
     * Writes the codes of {@code weight} [n, k] to {@code codes} (row-major, n * k bytes).
     *
     * @throws BackendException if a weight is NaN or infinite (no int8 code stands for it)
     */
    static Rows requantize(Tensor weight, MemorySegment codes, ParallelLoop loop) {
        int n = weight.shape().dim(0);
        int k = weight.shape().dim(1);
        float[] scales = new float[n];
        int[] sums = new int[n];
        AtomicReference<String> bad = new AtomicReference<>();
        loop.forRange(n, Math.max(1, MIN_TASK_VALUES / k), (from, to) -> {
            float[] row = new float[k];
            MemorySegment rowSegment = MemorySegment.ofArray(row);
            for (int r = from; r < to; r++) {
                RowDecoder.decode(weight.dtype(), weight.data(), r, k, rowSegment, 0);
                float max = 0;
                for (float v : row) {
                    max = Math.max(max, Math.abs(v));
                }
                if (!Float.isFinite(max)) {
                    bad.compareAndSet(null, "row " + r + " holds a NaN or infinite value");
                    continue;
                }
                float scale = max / Int8Codes.LIMIT;
                scales[r] = scale;
                long at = (long) r * k;
                int sum = 0;
                for (int c = 0; c < k; c++) {
                    byte code = scale == 0 ? 0 : Int8Codes.code(row[c], scale);
                    codes.set(ValueLayout.JAVA_BYTE, at + c, code);
                    sum += code;
                }
                sums[r] = sum;
            }
        });
        if (bad.get() != null) {
            throw new BackendException("weights " + weight + ": " + bad.get() + "; they cannot be multiplied in int8");
        }
        return new Rows(scales, sums);
    }

    /** Each row's sum of codes of int8 weights [n, k] stored row-major in {@code codes}. */
    static int[] codeSums(MemorySegment codes, int n, int k) {
        int[] sums = new int[n];
        for (int r = 0; r < n; r++) {
            long at = (long) r * k;
            int sum = 0;
            for (int c = 0; c < k; c++) {
                sum += codes.get(ValueLayout.JAVA_BYTE, at + c);
            }
            sums[r] = sum;
        }
        return sums;
    }
}
