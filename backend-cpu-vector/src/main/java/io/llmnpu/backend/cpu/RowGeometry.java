package io.llmnpu.backend.cpu;

import io.llmnpu.api.tensor.Shape;

/**
 * An activation seen as {@code rows} token rows of {@code width} values: [T, n] is T rows of n, a
 * rank-1 [n] is one row, and [T, a, b] is T rows of a*b.
 */
record RowGeometry(int rows, int width) {

    static RowGeometry of(Shape shape) {
        if (shape.rank() == 0) {
            return new RowGeometry(1, 1);
        }
        if (shape.rank() == 1) {
            return new RowGeometry(1, shape.dim(0));
        }
        long width = 1;
        for (int i = 1; i < shape.rank(); i++) {
            width *= shape.dim(i);
        }
        return new RowGeometry(shape.dim(0), Math.toIntExact(width));
    }
}
