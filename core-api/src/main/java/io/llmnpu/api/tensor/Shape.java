package io.llmnpu.api.tensor;

import java.util.Arrays;

/**
 * Dimensions of a tensor, outermost first: a weight matrix of {@code out} rows and {@code in}
 * columns is {@code Shape.of(out, in)}, and its rows are contiguous. (GGUF lists the same dimensions
 * innermost first; loaders reverse them.)
 */
public final class Shape {
    private final int[] dims;

    private Shape(int[] dims) {
        for (int d : dims) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(dims));
            }
        }
        this.dims = dims;
    }

    public static Shape of(int... dims) {
        return new Shape(dims.clone());
    }

    public int rank() {
        return dims.length;
    }

    public int dim(int i) {
        return dims[i];
    }

    public int[] dims() {
        return dims.clone();
    }

    /** Number of values, as a long so that large weight tensors do not overflow. */
    public long elements() {
        long n = 1;
        for (int d : dims) {
            n = Math.multiplyExact(n, (long) d);
        }
        return n;
    }

    /** Size of the innermost (contiguous) dimension; 1 for a scalar. */
    public int cols() {
        return dims.length == 0 ? 1 : dims[dims.length - 1];
    }

    /** Product of all dimensions but the innermost: the number of contiguous rows. */
    public int rows() {
        long r = dims.length == 0 ? 1 : elements() / Math.max(1, cols());
        return Math.toIntExact(r);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return Arrays.toString(dims);
    }
}
