package io.llmnpu.backend.cpu.onednn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Where the int8 products of one graph work: for each group of ops (see {@link OneDnnMatrixEngine#prepare})
 * the activation codes, [tokens, k] bytes, and the INT32 sums, [tokens, n]. A group needs them from its
 * first op, which quantizes and multiplies, to its last, which reads its columns of the sums, and a graph
 * runs its products in graph order, one execution at a time. So groups whose spans do not overlap (in a
 * transformer, every group of every layer) share one pair of buffers instead of each holding its own: a
 * TinyLlama graph of 256-token chunks then keeps 12 MiB of them rather than 400 MiB. Groups whose spans
 * overlap get buffers of their own.
 *
 * <p>The planner holds the buffers until {@link #release} and every group that {@link #acquire}s them
 * holds them until it releases them; the last release frees them.
 */
final class ProductScratch {

    /**
     * What one group needs.
     *
     * @param first index of its first op in the graph's order of products
     * @param last  index of its last op
     */
    record Need(int first, int last, long codeBytes, long sumBytes) {
    }

    private static final long ALIGNMENT = 64;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment[] codes;
    private final MemorySegment[] sums;
    private int users = 1;

    /** Buffers for {@code needs}, listed in the order of their first ops. */
    ProductScratch(List<Need> needs) {
        int[] slotOf = new int[needs.size()];
        List<long[]> slots = new ArrayList<>(); // last op, code bytes, sum bytes
        for (int g = 0; g < needs.size(); g++) {
            Need need = needs.get(g);
            int slot = 0;
            while (slot < slots.size() && slots.get(slot)[0] >= need.first()) {
                slot++;
            }
            if (slot == slots.size()) {
                slots.add(new long[3]);
            }
            long[] s = slots.get(slot);
            s[0] = need.last();
            s[1] = Math.max(s[1], need.codeBytes());
            s[2] = Math.max(s[2], need.sumBytes());
            slotOf[g] = slot;
        }
        try {
            MemorySegment[] slotCodes = new MemorySegment[slots.size()];
            MemorySegment[] slotSums = new MemorySegment[slots.size()];
            for (int s = 0; s < slots.size(); s++) {
                slotCodes[s] = arena.allocate(Math.max(1, slots.get(s)[1]), ALIGNMENT);
                slotSums[s] = arena.allocate(Math.max(1, slots.get(s)[2]), ALIGNMENT);
            }
            codes = new MemorySegment[needs.size()];
            sums = new MemorySegment[needs.size()];
            for (int g = 0; g < needs.size(); g++) {
                codes[g] = slotCodes[slotOf[g]].asSlice(0, needs.get(g).codeBytes());
                sums[g] = slotSums[slotOf[g]].asSlice(0, needs.get(g).sumBytes());
            }
        } catch (RuntimeException | OutOfMemoryError e) {
            arena.close();
            throw e;
        }
    }

    /** Group {@code g}'s activation codes. */
    MemorySegment codes(int g) {
        return codes[g];
    }

    /** Group {@code g}'s INT32 sums. */
    MemorySegment sums(int g) {
        return sums[g];
    }

    /** One more holder (a group that binds its matmul to these buffers). */
    synchronized void acquire() {
        if (users == 0) {
            throw new IllegalStateException("the product buffers were freed");
        }
        users++;
    }

    /** One holder less; the last frees the buffers. */
    synchronized void release() {
        if (users > 0 && --users == 0) {
            arena.close();
        }
    }
}
