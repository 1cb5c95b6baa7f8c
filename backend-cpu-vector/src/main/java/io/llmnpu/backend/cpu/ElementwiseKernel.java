package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.VectorSpecs.F32;
import static io.llmnpu.backend.cpu.VectorSpecs.FLOATS;
import static io.llmnpu.backend.cpu.VectorSpecs.LANES;
import static io.llmnpu.backend.cpu.VectorSpecs.LE;

import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/** A binary elementwise op over F32 values of equal shape: Add, SiluMul or GeluMul. */
record ElementwiseKernel(Kind kind, int aSlot, int bSlot, int outSlot, int count) implements Kernel {

    enum Kind {
        /** out = a + b */
        ADD,
        /** out = silu(a) * b with silu(x) = x / (1 + exp(-x)) */
        SILU_MUL,
        /** out = gelu(a) * b, GELU in its tanh form */
        GELU_MUL
    }

    /** Elements per chunk worth another thread: additions are cheap, exponentials cost more. */
    private static final int ADD_GRAIN = 16384;
    private static final int SILU_GRAIN = 4096;

    @Override
    public void run(Tensor[] values, ParallelLoop loop) {
        MemorySegment a = values[aSlot].data();
        MemorySegment b = values[bSlot].data();
        MemorySegment out = values[outSlot].data();
        switch (kind) {
            case ADD -> loop.forRange(count, ADD_GRAIN, (from, to) -> add(a, b, out, from, to));
            case SILU_MUL -> loop.forRange(count, SILU_GRAIN, (from, to) -> siluMul(a, b, out, from, to));
            case GELU_MUL -> loop.forRange(count, SILU_GRAIN, (from, to) -> geluMul(a, b, out, from, to));
        }
    }

    private static void add(MemorySegment a, MemorySegment b, MemorySegment out, int from, int to) {
        int i = from;
        int bound = from + FLOATS.loopBound(to - from);
        for (; i < bound; i += LANES) {
            long o = (long) i * Float.BYTES;
            FloatVector.fromMemorySegment(FLOATS, a, o, LE)
                    .add(FloatVector.fromMemorySegment(FLOATS, b, o, LE))
                    .intoMemorySegment(out, o, LE);
        }
        for (; i < to; i++) {
            long o = (long) i * Float.BYTES;
            out.set(F32, o, a.get(F32, o) + b.get(F32, o));
        }
    }

    /**
     * silu(g) * u with the sigmoid from {@link VectorMath#expNonPositive} of -|g|, which every execution
     * mode rounds alike (scalar {@code Math.exp} per value was most of a prefill's FFN time outside the
     * matrix products): sigmoid(g) = 1 / (1 + e) for g >= 0 and e / (1 + e) below, with e = exp(-|g|).
     * The tail goes through the same vector code on a padded copy, so a value's result does not depend
     * on where the chunks of a parallel loop split.
     */
    private static void siluMul(MemorySegment gate, MemorySegment up, MemorySegment out, int from, int to) {
        int i = from;
        int bound = from + FLOATS.loopBound(to - from);
        for (; i < bound; i += LANES) {
            long o = (long) i * Float.BYTES;
            siluMul(FloatVector.fromMemorySegment(FLOATS, gate, o, LE), FloatVector.fromMemorySegment(FLOATS, up, o, LE))
                    .intoMemorySegment(out, o, LE);
        }
        if (i < to) {
            float[] g = new float[LANES];
            float[] u = new float[LANES];
            int n = to - i;
            MemorySegment.copy(gate, F32, (long) i * Float.BYTES, g, 0, n);
            MemorySegment.copy(up, F32, (long) i * Float.BYTES, u, 0, n);
            siluMul(FloatVector.fromArray(FLOATS, g, 0), FloatVector.fromArray(FLOATS, u, 0)).intoArray(g, 0);
            MemorySegment.copy(g, 0, out, F32, (long) i * Float.BYTES, n);
        }
    }

    private static FloatVector siluMul(FloatVector g, FloatVector u) {
        FloatVector e = VectorMath.expNonPositive(g.abs().neg());
        FloatVector numerator = FloatVector.broadcast(FLOATS, 1f).blend(e, g.compare(VectorOperators.LT, 0f));
        return g.mul(numerator.div(e.add(1f))).mul(u);
    }

    /** Vector GELU (see {@link VectorMath#gelu}); the tail goes through the same code, padded. */
    private static void geluMul(MemorySegment gate, MemorySegment up, MemorySegment out, int from, int to) {
        int i = from;
        int bound = from + FLOATS.loopBound(to - from);
        for (; i < bound; i += LANES) {
            long o = (long) i * Float.BYTES;
            VectorMath.gelu(FloatVector.fromMemorySegment(FLOATS, gate, o, LE))
                    .mul(FloatVector.fromMemorySegment(FLOATS, up, o, LE))
                    .intoMemorySegment(out, o, LE);
        }
        if (i < to) {
            float[] g = new float[LANES];
            float[] u = new float[LANES];
            MemorySegment.copy(gate, F32, (long) i * Float.BYTES, g, 0, to - i);
            MemorySegment.copy(up, F32, (long) i * Float.BYTES, u, 0, to - i);
            VectorMath.gelu(FloatVector.fromArray(FLOATS, g, 0)).mul(FloatVector.fromArray(FLOATS, u, 0)).intoArray(g, 0);
            MemorySegment.copy(g, 0, out, F32, (long) i * Float.BYTES, to - i);
        }
    }
}
