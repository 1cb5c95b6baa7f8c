package io.llmnpu.api.graph;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * A straight-line list of ops with static shapes, the unit a backend compiles and runs. Inputs are
 * bound by the caller at execution time; every other value is produced by exactly one op before it
 * is read. Outputs are values the caller reads back after execution.
 */
public record Subgraph(String name, List<Value> inputs, List<Op> ops, List<Value> outputs) {

    public Subgraph {
        Objects.requireNonNull(name, "name");
        inputs = List.copyOf(inputs);
        ops = List.copyOf(ops);
        outputs = List.copyOf(outputs);
        validate(name, inputs, ops, outputs);
    }

    private static void validate(String name, List<Value> inputs, List<Op> ops, List<Value> outputs) {
        Set<Integer> defined = new HashSet<>();
        for (Value v : inputs) {
            if (!defined.add(v.id())) {
                throw new IllegalArgumentException("subgraph " + name + ": input " + v + " listed twice");
            }
        }
        for (Op op : ops) {
            for (Value in : op.inputs()) {
                if (!defined.contains(in.id())) {
                    throw new IllegalArgumentException(
                            "subgraph " + name + ": " + op.getClass().getSimpleName() + " reads " + in
                                    + " before anything produces it");
                }
            }
            for (Value out : op.outputs()) {
                if (!defined.add(out.id())) {
                    throw new IllegalArgumentException(
                            "subgraph " + name + ": " + out + " is produced twice");
                }
            }
        }
        for (Value out : outputs) {
            if (!defined.contains(out.id())) {
                throw new IllegalArgumentException("subgraph " + name + ": output " + out + " is never produced");
            }
        }
    }
}
