package io.llmnpu.backend.cpu;

import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/** Copies row {@code row} of the input (e.g. the last prompt position before the LM head). */
record SelectRowKernel(int inSlot, int row, int width, int outSlot) implements Kernel {

    @Override
    public void run(Tensor[] values, ParallelLoop loop) {
        long bytes = (long) width * Float.BYTES;
        MemorySegment.copy(values[inSlot].data(), row * bytes, values[outSlot].data(), 0, bytes);
    }
}
