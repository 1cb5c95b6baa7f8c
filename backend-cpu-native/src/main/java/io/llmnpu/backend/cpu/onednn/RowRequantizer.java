package io.llmnpu.backend.cpu.onednn;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.backend.cpu.ParallelLoop;
import io.llmnpu.backend.cpu.RowDecoder;
import io.llmnpu.backend.cpu.WeightRows;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Block-quantized weights (Q8_0, Q4_0 and the other 32-value blocks: a scale per 32 values; the K-quants:
 * scales per 16 or 32 values inside 256-value super-blocks) to int8 codes with one scale per row,
 * the form oneDNN's int8 matmul takes (it scales whole output channels, not blocks along K). Each row
 * is decoded exactly as the Vector API kernels read it ({@link RowDecoder}), its largest magnitude
 * becomes code 127, and every value is rounded to the nearest code.
 *
 * <p>What this costs in accuracy: a Q8_0 block whose scale is the row's largest keeps its codes
 * exactly; a block with a smaller scale is rounded to the row's step, an error of at most half a step
 * (about 0.7% of a weight's magnitude, root mean square, for Gaussian-like rows). Q4_0 values sit on a
 * grid 16 times coarser than the int8 one, so they barely move; the K-quants' 2..6-bit values, with
 * their sub-block scales, round like Q8_0 blocks of smaller scale.
 *
 * <p>The code is scalar on purpose: it runs once per weight matrix, when the first prompt is compiled,
 * before the JIT has compiled any vector code, and scalar loops reach compiled speed within the first
 * matrix where Vector API code would run interpreted, a hundred times slower, for seconds.
 */
final class RowRequantizer {

    private static final int BLOCK = 32;

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
            // One widener per task: a k-quant widener keeps its row copy between rows.
            WeightRows widener = WeightRows.of(weight.dtype());
            // The row's encoded bytes, then its codes.
            byte[] raw = new byte[Math.max(k, Math.toIntExact(weight.dtype().byteSize(k)))];
            for (int r = from; r < to; r++) {
                decode(weight, r, k, raw, row, widener);
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
                int sum = 0;
                for (int c = 0; c < k; c++) {
                    byte code = scale == 0 ? 0 : Int8Codes.code(row[c], scale);
                    raw[c] = code;
                    sum += code;
                }
                MemorySegment.copy(raw, 0, codes, ValueLayout.JAVA_BYTE, (long) r * k, k);
                sums[r] = sum;
            }
        });
        if (bad.get() != null) {
            throw new BackendException("weights " + weight + ": " + bad.get() + "; they cannot be multiplied in int8");
        }
        return new Rows(scales, sums);
    }

    /**
     * Row {@code r} of {@code weight} as F32 in {@code row}, each value the float product of its quant and
     * its block's scale, as {@link RowDecoder} gives it; Q8_0 and Q4_0 are decoded from a bulk copy of the
     * row's bytes (a bounds check per value, as a segment read needs, costs several times more), other
     * types by {@code widener} straight into {@code row} (through {@link RowDecoder}, each row of a k-quant
     * matrix allocated two row-sized arrays: 9 GB of garbage while TinyLlama's weights were repacked).
     */
    private static void decode(Tensor weight, int r, int k, byte[] raw, float[] row, WeightRows widener) {
        DType dtype = weight.dtype();
        if (dtype != DType.Q8_0 && dtype != DType.Q4_0) {
            widener.widen(weight.data(), r, k, row, 0);
            return;
        }
        int rowBytes = Math.toIntExact(dtype.byteSize(k));
        MemorySegment.copy(weight.data(), ValueLayout.JAVA_BYTE, (long) r * rowBytes, raw, 0, rowBytes);
        int blockBytes = dtype.blockBytes();
        for (int b = 0; b < k / BLOCK; b++) {
            int at = b * blockBytes;
            float d = Float.float16ToFloat((short) ((raw[at] & 0xFF) | raw[at + 1] << 8));
            int out = b * BLOCK;
            if (dtype == DType.Q8_0) {
                for (int j = 0; j < BLOCK; j++) {
                    row[out + j] = raw[at + 2 + j] * d;
                }
            } else {
                for (int j = 0; j < BLOCK / 2; j++) {
                    int q = raw[at + 2 + j] & 0xFF;
                    row[out + j] = ((q & 0x0F) - 8) * d;
                    row[out + j + BLOCK / 2] = ((q >>> 4) - 8) * d;
                }
            }
        }
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
