package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.VectorSpecs.F32;
import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;
import static io.llmnpu.backend.cpu.VectorSpecs.LANES;
import static io.llmnpu.backend.cpu.VectorSpecs.LE;

import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * {@code out = npu + shadow}, with every entry whose NPU value saturated recomputed exactly in float
 * from the layer's float weights: a saturated output has lost an unknown part of its value, which no
 * correction term can restore.
 */
final class ShadowMergeKernel implements Kernel {

    private final int npuSlot;
    private final int shadowSlot;
    private final int inSlot;
    private final int outSlot;
    private final int tokens;
    private final int k;
    private final int n;
    private final Tensor weight;
    private final float limit;

    ShadowMergeKernel(int npuSlot, int shadowSlot, int inSlot, int outSlot, int tokens, int k, int n, Tensor weight,
                      float limit) {
        this.npuSlot = npuSlot;
        this.shadowSlot = shadowSlot;
        this.inSlot = inSlot;
        this.outSlot = outSlot;
        this.tokens = tokens;
        this.k = k;
        this.n = n;
        this.weight = weight;
        this.limit = limit;
    }

    @Override
    public void run(Tensor[] values, ParallelLoop loop) {
        MemorySegment npu = values[npuSlot].data();
        MemorySegment shadow = values[shadowSlot].data();
        MemorySegment x = values[inSlot].data();
        MemorySegment out = values[outSlot].data();
        boolean repair = Float.isFinite(limit);
        loop.forRange(tokens, Math.max(1, 16384 / n), (from, to) -> {
            float[] row = null;
            RowDecoder.Reader rows = null;
            for (int t = from; t < to; t++) {
                long off = (long) t * n * Float.BYTES;
                boolean saturated = add(npu, shadow, out, off, repair);
                if (saturated) {
                    if (row == null) {
                        row = new float[k];
                        rows = RowDecoder.reader(weight.dtype());
                    }
                    recompute(npu, x, out, t, row, rows);
                }
            }
        });
    }

    /** Adds one row; returns whether any NPU value in it reached the limit. */
    private boolean add(MemorySegment a, MemorySegment b, MemorySegment out, long off, boolean repair) {
        boolean saturated = false;
        int i = 0;
        int bound = FLOATS.loopBound(n);
        for (; i < bound; i += LANES) {
            long o = off + (long) i * Float.BYTES;
            FloatVector av = FloatVector.fromMemorySegment(FLOATS, a, o, LE);
            av.add(FloatVector.fromMemorySegment(FLOATS, b, o, LE)).intoMemorySegment(out, o, LE);
            if (repair) {
                VectorMask<Float> m = av.abs().compare(VectorOperators.GE, limit);
                saturated |= m.anyTrue();
            }
        }
        for (; i < n; i++) {
            long o = off + (long) i * Float.BYTES;
            float av = a.get(F32, o);
            out.set(F32, o, av + b.get(F32, o));
            saturated |= repair && Math.abs(av) >= limit;
        }
        return saturated;
    }

    private void recompute(MemorySegment npu, MemorySegment x, MemorySegment out, int t, float[] row,
                           RowDecoder.Reader rows) {
        long xOff = (long) t * k * Float.BYTES;
        for (int r = 0; r < n; r++) {
            long o = ((long) t * n + r) * Float.BYTES;
            if (Math.abs(npu.get(F32, o)) >= limit) {
                rows.read(weight.data(), r, k, row);
                double sum = 0;
                for (int c = 0; c < k; c++) {
                    sum += row[c] * x.get(F32, xOff + (long) c * Float.BYTES);
                }
                out.set(F32, o, (float) sum);
            }
        }
    }
}
