package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.VectorSpecs.I32;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * out[t] = table[tokens[t]], widened to F32 row by row. A table read from the model file gives back the
 * pages each lookup mapped ({@link MappedPages#releaseAround}): a few rows are read per token, and the
 * folios mapped around them would otherwise leave the whole table resident after enough tokens.
 */
record EmbeddingKernel(String label, int tokensSlot, Tensor table, int outSlot, int tokens, int vocab, int dim)
        implements Kernel {

    @Override
    public void run(Tensor[] values, ParallelLoop loop) {
        MemorySegment ids = values[tokensSlot].data();
        MemorySegment out = values[outSlot].data();
        // Check every id before writing anything, so a bad id leaves the output untouched.
        for (int t = 0; t < tokens; t++) {
            int id = ids.get(I32, (long) t * Integer.BYTES);
            if (id < 0 || id >= vocab) {
                throw new BackendException(label + ": token id " + id + " in row " + t
                        + " is outside the embedding table " + table.name() + " of " + vocab + " tokens");
            }
        }
        long rowBytes = table.dtype().byteSize(dim);
        for (int t = 0; t < tokens; t++) {
            int id = ids.get(I32, (long) t * Integer.BYTES);
            RowDecoder.decode(table.dtype(), table.data(), id, dim, out, (long) t * dim * Float.BYTES);
            MappedPages.releaseAround(table.data(), id * rowBytes, rowBytes);
        }
    }
}
