package io.llmnpu.backend.npu.reference;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.graph.FixedPointMultiplier;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.tensor.Int8Weights;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The expensive part of compiling a QuantizedLinear for the reference NPU: reorders the weights into
 * INT8 tiles and folds the input, weight and output scales into per-row output stages.
 */
final class WeightPacker {

    /**
     * Largest column count whose INT32 accumulators cannot overflow: activation codes are within +-127
     * and weight codes within -128..127, so |acc| <= 127 * 128 * cols.
     */
    static final int MAX_COLS = Integer.MAX_VALUE / (127 * 128);

    /** Zero bytes after the last tile, so that every vector load of a slice stays inside the array. */
    static final int TAIL_SLACK = 16;

    private WeightPacker() {
    }

    static PackedLinear pack(Op.QuantizedLinear op, int slice) {
        Int8Weights w = op.weights();
        int rows = w.rows();
        int cols = w.cols();
        if (cols > MAX_COLS) {
            throw new BackendException("QuantizedLinear " + w.name() + ": " + cols + " input features could overflow "
                    + "INT32 accumulators (at most " + MAX_COLS + ")");
        }
        int slices = (cols + slice - 1) / slice;
        int groups = (rows + NpuVectors.TILE_ROWS - 1) / NpuVectors.TILE_ROWS;
        long tileBytes = (long) groups * slices * NpuVectors.TILE_ROWS * slice;
        if (tileBytes > Integer.MAX_VALUE - 8) {
            throw new BackendException("QuantizedLinear " + w.name() + " is too large for one packed buffer ("
                    + tileBytes + " bytes); split the layer");
        }
        // A little slack past the end: narrow byte vectors may load a few bytes beyond the last slice.
        byte[] tiles = new byte[(int) tileBytes + TAIL_SLACK];
        MemorySegment src = w.data();
        byte[] row = new byte[cols];
        for (int r = 0; r < rows; r++) {
            MemorySegment.copy(src, ValueLayout.JAVA_BYTE, (long) r * cols, row, 0, cols);
            int group = r / NpuVectors.TILE_ROWS;
            int inGroup = r % NpuVectors.TILE_ROWS;
            for (int s = 0; s < slices; s++) {
                int dst = ((group * slices + s) * NpuVectors.TILE_ROWS + inGroup) * slice;
                int from = s * slice;
                int count = Math.min(slice, cols - from);
                System.arraycopy(row, from, tiles, dst, count);
            }
        }
        float[] dequant = new float[rows];
        int[] mantissa = new int[rows];
        int[] exponent = new int[rows];
        for (int r = 0; r < rows; r++) {
            dequant[r] = op.inputScale() * w.scale(r);
            if (op.outputScale() > 0) {
                FixedPointMultiplier m = FixedPointMultiplier.of(
                        (double) op.inputScale() * w.scale(r) / op.outputScale());
                mantissa[r] = m.mantissa();
                exponent[r] = m.exponent();
            }
        }
        return new PackedLinear(w.name(), rows, cols, slice, tiles, op.inputScale(), op.outputScale(), dequant,
                mantissa, exponent);
    }
}
