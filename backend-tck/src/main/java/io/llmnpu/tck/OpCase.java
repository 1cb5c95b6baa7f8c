package io.llmnpu.tck;

import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Tensor;
import java.util.Map;

/**
 * One named check: a graph (usually a single op) and the inputs it runs on, built on demand from a
 * seeded random source so that a failing case can be rebuilt exactly.
 *
 * @param label      what the test report shows after the device name, e.g. {@code Linear Q4_0 [7x96]->[7x33]}
 * @param weightType the weight type that selects the tolerance (F32 for weightless ops)
 * @param bound      picks the tolerance from the suite's {@link Tolerances}; by default the bound of
 *                   {@code weightType}
 * @param builder    makes the graph and its inputs
 */
record OpCase(String label, DType weightType, BoundRule bound, Builder builder) {

    OpCase(String label, DType weightType, Builder builder) {
        this(label, weightType, t -> t.forWeights(weightType), builder);
    }

    /** How a case's tolerance follows from the suite's. */
    @FunctionalInterface
    interface BoundRule {
        Tolerances.Bound of(Tolerances tolerances);
    }

    /** A built case: the graph and a tensor for each of its inputs. */
    record Data(Subgraph graph, Map<Value, Tensor> inputs) {
    }

    @FunctionalInterface
    interface Builder {
        Data build(RandomTensors data);
    }
}
