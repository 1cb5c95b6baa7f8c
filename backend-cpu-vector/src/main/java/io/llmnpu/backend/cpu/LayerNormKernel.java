package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.VectorSpecs.F32;
import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;
import static io.llmnpu.backend.cpu.VectorSpecs.LANES;
import static io.llmnpu.backend.cpu.VectorSpecs.LE;

import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * out[t] = (in[t] - mean) / sqrt(variance + eps) * weight + bias, rows spread over the pool. The
 * variance is taken around the mean in a second pass (not as mean of squares minus squared mean), so
 * rows far from zero keep their precision.
 */
record LayerNormKernel(int inSlot, Tensor weight, Tensor bias, float eps, int outSlot, int rows, int width)
        implements Kernel {

    @Override
    public void run(Tensor[] values, ParallelLoop loop) {
        MemorySegment in = values[inSlot].data();
        MemorySegment out = values[outSlot].data();
        MemorySegment w = weight.data();
        MemorySegment b = bias == null ? null : bias.data();
        loop.forRange(rows, Math.max(1, 16384 / width), (from, to) -> {
            for (int t = from; t < to; t++) {
                normalizeRow(in, out, w, b, (long) t * width * Float.BYTES);
            }
        });
    }

    private void normalizeRow(MemorySegment in, MemorySegment out, MemorySegment w, MemorySegment b, long rowOff) {
        int bound = FLOATS.loopBound(width);
        FloatVector acc = FloatVector.zero(FLOATS);
        int i = 0;
        for (; i < bound; i += LANES) {
            acc = acc.add(FloatVector.fromMemorySegment(FLOATS, in, rowOff + (long) i * Float.BYTES, LE));
        }
        float sum = VectorMath.sum(acc);
        for (; i < width; i++) {
            sum += in.get(F32, rowOff + (long) i * Float.BYTES);
        }
        float mean = sum / width;
        FloatVector meanV = FloatVector.broadcast(FLOATS, mean);
        acc = FloatVector.zero(FLOATS);
        for (i = 0; i < bound; i += LANES) {
            FloatVector d = FloatVector.fromMemorySegment(FLOATS, in, rowOff + (long) i * Float.BYTES, LE).sub(meanV);
            acc = d.fma(d, acc);
        }
        float squares = VectorMath.sum(acc);
        for (; i < width; i++) {
            float d = in.get(F32, rowOff + (long) i * Float.BYTES) - mean;
            squares += d * d;
        }
        float inv = (float) (1.0 / Math.sqrt(squares / width + eps));
        FloatVector invV = FloatVector.broadcast(FLOATS, inv);
        for (i = 0; i < bound; i += LANES) {
            long o = (long) i * Float.BYTES;
            FloatVector y = FloatVector.fromMemorySegment(FLOATS, in, rowOff + o, LE).sub(meanV).mul(invV)
                    .mul(FloatVector.fromMemorySegment(FLOATS, w, o, LE));
            if (b != null) {
                y = y.add(FloatVector.fromMemorySegment(FLOATS, b, o, LE));
            }
            y.intoMemorySegment(out, rowOff + o, LE);
        }
        for (; i < width; i++) {
            long o = (long) i * Float.BYTES;
            float y = (in.get(F32, rowOff + o) - mean) * inv * w.get(F32, o);
            out.set(F32, rowOff + o, b == null ? y : y + b.get(F32, o));
        }
    }
}
