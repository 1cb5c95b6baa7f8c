package io.llmnpu.backend.cpu;

import io.llmnpu.api.tensor.Tensor;

/** A matrix product that the backend's {@link MatrixEngine} prepared, bound to the slots of its values. */
record ProductKernel(int inSlot, int outSlot, MatrixProduct product) implements Kernel {

    @Override
    public void run(Tensor[] values, ParallelLoop loop) {
        product.multiply(values[inSlot].data(), values[outSlot].data(), loop);
    }
}
