package io.llmnpu.backend.cpu;

import io.llmnpu.api.tensor.Tensor;

/**
 * One op of a compiled graph, bound to the slots of its values. {@code values} holds the tensor of
 * every value of the graph for this execution, indexed by slot.
 */
interface Kernel {
    void run(Tensor[] values, ParallelLoop loop);
}
