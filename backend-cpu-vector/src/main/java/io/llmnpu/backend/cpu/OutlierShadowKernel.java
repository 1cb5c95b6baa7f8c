package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.VectorSpecs.F32;
import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;
import static io.llmnpu.backend.cpu.VectorSpecs.LANES;
import static io.llmnpu.backend.cpu.VectorSpecs.LE;

import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * The CPU half of shadow outlier execution: {@code out[t] = W · (x[t] - clip(x[t]))}, touching only the
 * channels whose value is beyond the clip threshold (a few per thousand). The weight columns of the hot
 * channels are copied once, at compile time, into a compact buffer of contiguous float rows, so an
 * outlier costs one vector axpy over the output; an outlier in any other channel reads its column from
 * the (mapped) weight tensor instead, which is slow but rare.
 */
final class OutlierShadowKernel implements Kernel {

    private final int inSlot;
    private final int outSlot;
    private final int tokens;
    private final int k;
    private final int n;
    private final float threshold;
    private final Tensor weight;
    /** Column c of W for hot channel c, as {@code compact[slotOf[c] * n .. + n)}. */
    private final float[] compact;
    private final int[] slotOf;

    OutlierShadowKernel(int inSlot, int outSlot, int tokens, int k, int n, float threshold, Tensor weight,
                        int[] hotChannels) {
        this.inSlot = inSlot;
        this.outSlot = outSlot;
        this.tokens = tokens;
        this.k = k;
        this.n = n;
        this.threshold = threshold;
        this.weight = weight;
        this.slotOf = new int[k];
        Arrays.fill(slotOf, -1);
        for (int i = 0; i < hotChannels.length; i++) {
            slotOf[hotChannels[i]] = i;
        }
        this.compact = copyColumns(weight, hotChannels, n, k);
    }

    /** Transposes the hot columns of W into contiguous rows, decoding one weight row at a time. */
    private static float[] copyColumns(Tensor weight, int[] channels, int n, int k) {
        float[] out = new float[Math.multiplyExact(channels.length, n)];
        if (channels.length == 0) {
            return out;
        }
        float[] row = new float[k];
        RowDecoder.Reader rows = RowDecoder.reader(weight.dtype());
        for (int r = 0; r < n; r++) {
            rows.read(weight.data(), r, k, row);
            for (int i = 0; i < channels.length; i++) {
                out[i * n + r] = row[channels[i]];
            }
        }
        return out;
    }

    @Override
    public void run(Tensor[] values, ParallelLoop loop) {
        MemorySegment x = values[inSlot].data();
        MemorySegment out = values[outSlot].data();
        int grain = Math.max(1, 16384 / Math.max(1, k));
        loop.forRange(tokens, grain, (from, to) -> {
            float[] acc = new float[n];
            for (int t = from; t < to; t++) {
                Arrays.fill(acc, 0f);
                shadowRow(x, (long) t * k * Float.BYTES, acc);
                MemorySegment.copy(acc, 0, out, F32, (long) t * n * Float.BYTES, n);
            }
        });
    }

    private void shadowRow(MemorySegment x, long rowOff, float[] acc) {
        int bound = FLOATS.loopBound(k);
        int c = 0;
        for (; c < bound; c += LANES) {
            FloatVector v = FloatVector.fromMemorySegment(FLOATS, x, rowOff + (long) c * Float.BYTES, LE);
            VectorMask<Float> beyond = v.abs().compare(VectorOperators.GT, threshold);
            if (beyond.anyTrue()) {
                long bits = beyond.toLong();
                while (bits != 0) {
                    int lane = Long.numberOfTrailingZeros(bits);
                    bits &= bits - 1;
                    addOutlier(c + lane, v.lane(lane), acc);
                }
            }
        }
        for (; c < k; c++) {
            float v = x.get(F32, rowOff + (long) c * Float.BYTES);
            if (Math.abs(v) > threshold) {
                addOutlier(c, v, acc);
            }
        }
    }

    /** Adds the part of {@code v} in channel c beyond the clip range. */
    private void addOutlier(int c, float v, float[] acc) {
        float excess = v - Math.copySign(threshold, v);
        int slot = slotOf[c];
        if (slot >= 0) {
            axpy(acc, excess, compact, slot * n, n);
            return;
        }
        float[] column = new float[n];
        WeightElements.column(weight.dtype(), weight.data(), c, k, n, column, 0);
        axpy(acc, excess, column, 0, n);
    }

    private static void axpy(float[] acc, float a, float[] src, int srcOff, int n) {
        FloatVector av = FloatVector.broadcast(FLOATS, a);
        int i = 0;
        int bound = FLOATS.loopBound(n);
        for (; i < bound; i += LANES) {
            FloatVector.fromArray(FLOATS, src, srcOff + i).fma(av, FloatVector.fromArray(FLOATS, acc, i))
                    .intoArray(acc, i);
        }
        for (; i < n; i++) {
            acc[i] += a * src[srcOff + i];
        }
    }
}
