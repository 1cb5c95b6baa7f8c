package io.llmnpu.backend.cpu.onednn;

import io.llmnpu.backend.cpu.MatrixProduct;
import io.llmnpu.backend.cpu.ParallelLoop;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * One int8 oneDNN matmul over the stacked weights of several ops that read the same activations: the
 * activation codes [tokens, k] and the INT32 sums [tokens, n] (in buffers the graph's groups share, see
 * {@link ProductScratch}), the packed weights (shared with other graphs through the {@link WeightStore})
 * and one {@link MatrixProduct} per op. The first product runs the
 * shared part on each execution ({@link Stages#compute}), every product writes its own columns
 * ({@link Stages#write}); the last product closed frees it all.
 */
final class StackedMatmul {

    /** What a group of ops does around the matmul. */
    interface Stages {
        /** Turns the activations {@code in} into {@link #codes()} and runs {@link #run()}. */
        void compute(MemorySegment in, ParallelLoop loop);

        /** Writes the output of op {@code index}, stacked rows [from, to), as [tokens, to - from] into {@code out}. */
        void write(int index, int from, int to, MemorySegment out, ParallelLoop loop);
    }

    private final OneDnnContext context;
    private final int[] offsets;
    private final ProductScratch scratch;
    private final MemorySegment codes;
    private final MemorySegment sums;
    private final OneDnnMatmul matmul;
    private final PackedWeights packed;
    /** 128 times each weight row's sum of codes: what the shifted sources add to its sums. */
    private final int[] shiftSums;
    private int openProducts;

    /**
     * @param offsets where each op's rows start in the stacked weights, and their total last
     * @param key     the stacked weights, for sharing their packed form
     * @param pack    packs the stacked weights in the layout of the memory descriptor it gets
     * @param scratch the graph's product buffers, of which this group's are number {@code group}
     */
    StackedMatmul(OneDnnContext context, int tokens, int k, int[] offsets, WeightStore.Key key,
                  Function<MemorySegment, PackedWeights> pack, ProductScratch scratch, int group) {
        this.context = context;
        this.offsets = offsets.clone();
        int n = offsets[offsets.length - 1];
        this.codes = scratch.codes(group);
        this.sums = scratch.sums(group);
        if (codes.byteSize() != (long) tokens * k || sums.byteSize() != (long) tokens * n * Integer.BYTES) {
            throw new IllegalArgumentException("product buffers of " + codes.byteSize() + " and " + sums.byteSize()
                    + " bytes for [" + tokens + "x" + k + "] x [" + k + "x" + n + "]");
        }
        OneDnnMatmul made = null;
        PackedWeights acquired = null;
        scratch.acquire();
        try {
            made = context.int8Matmul(tokens, k, n);
            OneDnnMatmul m = made;
            acquired = context.weights().acquire(key, m.weightsMd(), () -> pack.apply(m.weightsMd()));
            made.bind(codes, acquired.data(), sums);
        } catch (RuntimeException | Error e) {
            if (acquired != null) {
                context.weights().release(acquired);
            }
            if (made != null) {
                made.close();
            }
            scratch.release();
            throw e;
        }
        this.scratch = scratch;
        this.matmul = made;
        this.packed = acquired;
        this.shiftSums = new int[n];
        int[] codeSums = acquired.codeSums();
        for (int r = 0; r < n; r++) {
            shiftSums[r] = 128 * codeSums[r];
        }
    }

    /** Where each op's rows start in the stacked weights, and their total last. */
    static int[] offsets(int[] rows) {
        int[] offsets = new int[rows.length + 1];
        for (int i = 0; i < rows.length; i++) {
            offsets[i + 1] = offsets[i] + rows[i];
        }
        return offsets;
    }

    /** One product per op, in the order of the offsets. */
    List<MatrixProduct> products(Stages stages) {
        List<MatrixProduct> products = new ArrayList<>();
        for (int i = 0; i < offsets.length - 1; i++) {
            products.add(product(i, stages));
        }
        return products;
    }

    private MatrixProduct product(int index, Stages stages) {
        openProducts++;
        int from = offsets[index];
        int to = offsets[index + 1];
        return new MatrixProduct() {
            private boolean closed;

            @Override
            public void multiply(MemorySegment in, MemorySegment out, ParallelLoop loop) {
                if (index == 0) {
                    stages.compute(in, loop);
                }
                stages.write(index, from, to, out, loop);
            }

            @Override
            public void close() {
                if (!closed) {
                    closed = true;
                    release();
                }
            }
        };
    }

    /** The activation codes, [tokens, k] bytes, shifted by 128. */
    MemorySegment codes() {
        return codes;
    }

    /** The sums of the shifted codes, [tokens, n] INT32. */
    MemorySegment sums() {
        return sums;
    }

    /** Runs the matmul: codes times packed weights into sums. */
    void run() {
        matmul.run();
    }

    /** Each stacked row's per-row weight scale, as the packer chose it. */
    float[] rowScales() {
        return packed.rowScales();
    }

    /** 128 times each stacked row's sum of codes (subtract it from the row's sums). */
    int[] shiftSums() {
        return shiftSums;
    }

    /** One product less; the last one frees the buffers, the matmul and its hold on the packed weights. */
    private void release() {
        if (--openProducts > 0) {
            return;
        }
        try {
            matmul.close();
        } finally {
            context.weights().release(packed);
            scratch.release();
        }
    }
}
