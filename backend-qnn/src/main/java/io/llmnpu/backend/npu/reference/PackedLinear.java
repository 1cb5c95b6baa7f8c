package io.llmnpu.backend.npu.reference;

import io.llmnpu.api.graph.FixedPointMultiplier;

/**
 * One QuantizedLinear as the reference NPU runs it: weights repacked into INT8 tiles, and the scales
 * folded into one output stage per row.
 *
 * <p>Tile layout: rows are grouped by {@link NpuVectors#TILE_ROWS} (the last group padded with zero
 * rows), columns cut into slices of {@code slice} values (the last one padded with zeros). Group g,
 * slice s occupies {@code TILE_ROWS * slice} consecutive bytes at {@code (g * slices + s) * TILE_ROWS *
 * slice}: slice s of row 4g, then of row 4g+1, and so on. The GEMM thus streams each row group once,
 * front to back, loading one vector per row per step.
 *
 * @param name          the weights' name
 * @param rows          output features
 * @param cols          input features
 * @param slice         values per slice; kernels check it matches their vector width
 * @param tiles         the packed weights
 * @param inputScale    the static activation scale
 * @param outputScale   0 when accumulators are dequantized directly, else the INT16 output scale
 * @param dequant       per row: {@code inputScale * weightScale}, the float of one accumulator unit
 *                      (used when {@code outputScale} is 0)
 * @param requantMantissa per row: fixed-point mantissa of {@code inputScale * weightScale / outputScale}
 * @param requantExponent per row: its power of two
 */
record PackedLinear(String name, int rows, int cols, int slice, byte[] tiles, float inputScale, float outputScale,
                    float[] dequant, int[] requantMantissa, int[] requantExponent) {

    int slices() {
        return (cols + slice - 1) / slice;
    }

    /** Columns including the zero padding of the last slice. */
    int paddedCols() {
        return slices() * slice;
    }

    int groups() {
        return (rows + NpuVectors.TILE_ROWS - 1) / NpuVectors.TILE_ROWS;
    }

    boolean requantizes() {
        return outputScale > 0;
    }

    FixedPointMultiplier requant(int row) {
        return new FixedPointMultiplier(requantMantissa[row], requantExponent[row]);
    }

    /** Bytes this layer holds on the device. */
    long deviceBytes() {
        return tiles.length + 4L * (dequant.length + requantMantissa.length + requantExponent.length);
    }
}
