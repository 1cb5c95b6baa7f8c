package io.llmnpu.api.graph;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import java.util.ArrayList;
import java.util.List;

/** Collects values and ops in order and hands out fresh value ids. Not thread-safe. */
public final class SubgraphBuilder {
    private final String name;
    private final List<Value> inputs = new ArrayList<>();
    private final List<Op> ops = new ArrayList<>();
    private final List<Value> outputs = new ArrayList<>();
    private int nextId;

    public SubgraphBuilder(String name) {
        this.name = name;
    }

    /** Declares a value the caller binds at execution time. */
    public Value input(String valueName, DType dtype, Shape shape) {
        Value v = value(valueName, dtype, shape);
        inputs.add(v);
        return v;
    }

    /** Declares a value some op will produce. */
    public Value value(String valueName, DType dtype, Shape shape) {
        return new Value(nextId++, valueName, dtype, shape);
    }

    public <T extends Op> T add(T op) {
        ops.add(op);
        return op;
    }

    public void output(Value v) {
        outputs.add(v);
    }

    public Subgraph build() {
        return new Subgraph(name, inputs, ops, outputs);
    }
}
