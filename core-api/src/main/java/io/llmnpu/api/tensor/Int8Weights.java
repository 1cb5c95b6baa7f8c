package io.llmnpu.api.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A weight matrix in symmetric INT8, the form an NPU multiplies: {@code value[r][c] = data[r * cols + c]
 * * scale(r)}. The data is row-major {@code [rows, cols]} = {@code [outFeatures, inFeatures]}, one signed
 * byte per value, codes in [-127, 127] (-128 is never produced, so negation cannot overflow). There is
 * either one scale for the whole tensor or one per row (output channel).
 *
 * <p>Backends treat the data as read-only and may pack it into their own layout at compile time.
 *
 * @param name   the tensor's name (for messages, and part of an NPU's compile-cache key)
 * @param shape  {@code [rows, cols]}
 * @param data   {@code rows * cols} signed bytes, row-major
 * @param scales one positive finite scale, or one per row
 */
public record Int8Weights(String name, Shape shape, MemorySegment data, float[] scales) {

    /** How many scales the weights carry. */
    public enum Granularity {
        /** One scale for every value. */
        PER_TENSOR,
        /** One scale per row, i.e. per output channel. */
        PER_OUTPUT_CHANNEL
    }

    public Int8Weights {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(scales, "scales");
        if (shape.rank() != 2) {
            throw new IllegalArgumentException("INT8 weights " + name + " must be a matrix [rows, cols], got " + shape);
        }
        if (data.byteSize() < shape.elements()) {
            throw new IllegalArgumentException("INT8 weights " + name + " " + shape + " need " + shape.elements()
                    + " bytes but the data holds " + data.byteSize());
        }
        if (scales.length != 1 && scales.length != shape.dim(0)) {
            throw new IllegalArgumentException("INT8 weights " + name + " need 1 scale or one per row ("
                    + shape.dim(0) + "), got " + scales.length);
        }
        for (float s : scales) {
            if (!(s > 0) || !Float.isFinite(s)) {
                throw new IllegalArgumentException("INT8 weights " + name + ": scale " + s + " must be positive and finite");
            }
        }
        scales = scales.clone();
    }

    /** A copy of the scales. */
    @Override
    public float[] scales() {
        return scales.clone();
    }

    public int rows() {
        return shape.dim(0);
    }

    public int cols() {
        return shape.dim(1);
    }

    public Granularity granularity() {
        return scales.length == 1 && shape.dim(0) != 1 ? Granularity.PER_TENSOR : Granularity.PER_OUTPUT_CHANNEL;
    }

    /** The scale of row {@code row}. */
    public float scale(int row) {
        return scales.length == 1 ? scales[0] : scales[row];
    }

    /** Bytes of quantized data (the scales not counted). */
    public long byteSize() {
        return shape.elements();
    }

    @Override
    public boolean equals(Object o) {
        return this == o;
    }

    @Override
    public int hashCode() {
        return System.identityHashCode(this);
    }

    @Override
    public String toString() {
        return name + ":I8" + shape + "/" + granularity();
    }
}
