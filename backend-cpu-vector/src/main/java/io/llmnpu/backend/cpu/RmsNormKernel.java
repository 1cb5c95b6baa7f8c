package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.VectorSpecs.F32;
import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;
import static io.llmnpu.backend.cpu.VectorSpecs.LANES;
import static io.llmnpu.backend.cpu.VectorSpecs.LE;

import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/** out[t] = in[t] / sqrt(mean(in[t]^2) + eps) * weight, rows spread over the pool. */
record RmsNormKernel(int inSlot, Tensor weight, float eps, int outSlot, int rows, int width) implements Kernel {

    @Override
    public void run(Tensor[] values, ParallelLoop loop) {
        MemorySegment in = values[inSlot].data();
        MemorySegment out = values[outSlot].data();
        MemorySegment w = weight.data();
        loop.forRange(rows, Math.max(1, 16384 / width), (from, to) -> {
            for (int t = from; t < to; t++) {
                normalizeRow(in, out, w, (long) t * width * Float.BYTES);
            }
        });
    }

    private void normalizeRow(MemorySegment in, MemorySegment out, MemorySegment w, long rowOff) {
        float meanSquare = VectorMath.sumOfSquares(in, rowOff, width) / width;
        float inv = (float) (1.0 / Math.sqrt(meanSquare + eps));
        FloatVector invV = FloatVector.broadcast(FLOATS, inv);
        int i = 0;
        int bound = FLOATS.loopBound(width);
        for (; i < bound; i += LANES) {
            long o = (long) i * Float.BYTES;
            FloatVector x = FloatVector.fromMemorySegment(FLOATS, in, rowOff + o, LE);
            FloatVector g = FloatVector.fromMemorySegment(FLOATS, w, o, LE);
            x.mul(invV).mul(g).intoMemorySegment(out, rowOff + o, LE);
        }
        for (; i < width; i++) {
            long o = (long) i * Float.BYTES;
            out.set(F32, rowOff + o, in.get(F32, rowOff + o) * inv * w.get(F32, o));
        }
    }
}
