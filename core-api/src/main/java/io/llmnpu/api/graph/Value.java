package io.llmnpu.api.graph;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;

/**
 * A tensor-valued edge of a {@link Subgraph}: produced by one op (or given as a graph input) and read
 * by others. Shapes are static: a graph is compiled for one shape of every value.
 */
public record Value(int id, String name, DType dtype, Shape shape) {
    @Override
    public String toString() {
        return "%" + id + ":" + name + ":" + dtype + shape;
    }
}
