package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.VectorSpecs.F32;
import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;
import static io.llmnpu.backend.cpu.VectorSpecs.LANES;
import static io.llmnpu.backend.cpu.VectorSpecs.LE;

import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/** out[t] = in[t] + bias for every row (in place when in and out share a buffer). */
record AddBiasKernel(int inSlot, Tensor bias, int outSlot, int rows, int width) implements Kernel {

    @Override
    public void run(Tensor[] values, ParallelLoop loop) {
        MemorySegment in = values[inSlot].data();
        MemorySegment out = values[outSlot].data();
        MemorySegment b = bias.data();
        int bound = FLOATS.loopBound(width);
        loop.forRange(rows, Math.max(1, 16384 / width), (from, to) -> {
            for (int t = from; t < to; t++) {
                long rowOff = (long) t * width * Float.BYTES;
                int i = 0;
                for (; i < bound; i += LANES) {
                    long o = (long) i * Float.BYTES;
                    FloatVector.fromMemorySegment(FLOATS, in, rowOff + o, LE)
                            .add(FloatVector.fromMemorySegment(FLOATS, b, o, LE))
                            .intoMemorySegment(out, rowOff + o, LE);
                }
                for (; i < width; i++) {
                    long o = (long) i * Float.BYTES;
                    out.set(F32, rowOff + o, in.get(F32, rowOff + o) + b.get(F32, o));
                }
            }
        });
    }
}
