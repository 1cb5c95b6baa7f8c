package io.llmnpu.runtime.engine;

import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A forward pass cut into stages for two devices. Each stage has at most one part for the NPU and one
 * for the CPU; the two parts of a stage run at the same time, and a stage starts when the one before
 * it has finished. Parts exchange tensors by value name: every input or output of any part with a
 * given name is the same tensor (so names must agree on dtype and shape everywhere).
 *
 * @param name   for messages and traces
 * @param stages in execution order
 */
public record HybridGraph(String name, List<Stage> stages) {

    /**
     * One step: an NPU part and a CPU part that do not depend on each other (either may be null).
     *
     * @param name for traces, e.g. {@code blk.3.qkv}
     */
    public record Stage(String name, Subgraph npu, Subgraph cpu) {
        public Stage {
            Objects.requireNonNull(name, "name");
            if (npu == null && cpu == null) {
                throw new IllegalArgumentException("stage " + name + " has no work");
            }
        }
    }

    public HybridGraph {
        stages = List.copyOf(stages);
        Map<String, Value> seen = new HashMap<>();
        for (Stage s : stages) {
            for (Subgraph g : new Subgraph[] {s.npu(), s.cpu()}) {
                if (g == null) {
                    continue;
                }
                for (Value v : concat(g.inputs(), g.outputs())) {
                    Value first = seen.putIfAbsent(v.name(), v);
                    if (first != null && (first.dtype() != v.dtype() || !first.shape().equals(v.shape()))) {
                        throw new IllegalArgumentException("hybrid graph " + name + ": value " + v.name()
                                + " is " + first.dtype() + first.shape() + " in one part and " + v.dtype()
                                + v.shape() + " in another");
                    }
                }
            }
        }
    }

    /** A graph of one CPU stage: a float forward pass with no NPU work. */
    public static HybridGraph cpuOnly(Subgraph graph) {
        return new HybridGraph(graph.name(), List.of(new Stage(graph.name(), null, graph)));
    }

    /** Every value any part reads or writes, by name (the tensors a runner must provide). */
    public Map<String, Value> boundaryValues() {
        Map<String, Value> all = new java.util.LinkedHashMap<>();
        for (Stage s : stages) {
            for (Subgraph g : new Subgraph[] {s.npu(), s.cpu()}) {
                if (g != null) {
                    for (Value v : concat(g.inputs(), g.outputs())) {
                        all.putIfAbsent(v.name(), v);
                    }
                }
            }
        }
        return all;
    }

    private static List<Value> concat(List<Value> a, List<Value> b) {
        return java.util.stream.Stream.concat(a.stream(), b.stream()).toList();
    }
}
