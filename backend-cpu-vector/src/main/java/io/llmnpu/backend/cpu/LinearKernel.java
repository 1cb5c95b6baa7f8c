package io.llmnpu.backend.cpu;

import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/** out[t] = weight · in[t], output features spread over the pool (each thread owns whole weight rows). */
record LinearKernel(int inSlot, Tensor weight, int outSlot, int tokens, int k, int n, MatmulRows matmul)
        implements Kernel {

    /** Multiply-adds a chunk should hold at least, so that handing it to another thread pays off. */
    private static final int MIN_CHUNK_WORK = 32768;

    @Override
    public void run(Tensor[] values, ParallelLoop loop) {
        MemorySegment x = values[inSlot].data();
        MemorySegment out = values[outSlot].data();
        MemorySegment w = weight.data();
        int grain = (int) Math.max(1, MIN_CHUNK_WORK / ((long) k * tokens));
        loop.forRange(n, grain, (from, to) -> matmul.compute(w, x, out, tokens, k, n, from, to));
    }
}
