package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;
import static io.llmnpu.backend.cpu.VectorSpecs.LANES;
import static io.llmnpu.backend.cpu.VectorSpecs.LE;

import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * An elementwise function of one F32 value: GELU, scaling, or soft-capping. Every element, the tail
 * included, goes through the same vector code (the tail padded into a small array), so a value rounds
 * the same wherever a chunk boundary puts it.
 */
record UnaryKernel(Kind kind, float parameter, int inSlot, int outSlot, int count) implements Kernel {

    enum Kind {
        /** out = gelu(in), tanh form */
        GELU,
        /** out = in * parameter */
        SCALE,
        /** out = parameter * tanh(in / parameter) */
        SOFT_CAP
    }

    private static final int GRAIN = 4096;

    @Override
    public void run(Tensor[] values, ParallelLoop loop) {
        MemorySegment in = values[inSlot].data();
        MemorySegment out = values[outSlot].data();
        loop.forRange(count, GRAIN, (from, to) -> apply(in, out, from, to));
    }

    private void apply(MemorySegment in, MemorySegment out, int from, int to) {
        int i = from;
        int bound = from + FLOATS.loopBound(to - from);
        for (; i < bound; i += LANES) {
            long o = (long) i * Float.BYTES;
            f(FloatVector.fromMemorySegment(FLOATS, in, o, LE)).intoMemorySegment(out, o, LE);
        }
        if (i < to) {
            float[] tail = new float[LANES];
            MemorySegment.copy(in, VectorSpecs.F32, (long) i * Float.BYTES, tail, 0, to - i);
            f(FloatVector.fromArray(FLOATS, tail, 0)).intoArray(tail, 0);
            MemorySegment.copy(tail, 0, out, VectorSpecs.F32, (long) i * Float.BYTES, to - i);
        }
    }

    private FloatVector f(FloatVector x) {
        return switch (kind) {
            case GELU -> VectorMath.gelu(x);
            case SCALE -> x.mul(parameter);
            case SOFT_CAP -> VectorMath.tanh(x.div(parameter)).mul(parameter);
        };
    }
}
