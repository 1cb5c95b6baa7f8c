package io.llmnpu.backend.cpu;

import static io.llmnpu.backend.cpu.VectorSpecs.F32;
import static io.llmnpu.backend.cpu.VectorSpecs.I32;

import io.llmnpu.api.graph.RopeStyle;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * Rotary position embedding. Pair i of a head rotates by pos * theta^(-2i / rotaryDims) / factor_i
 * (factors from the op, else 1); ADJACENT
 * pairs dimensions (2i, 2i+1), NEOX pairs (i, i + rotaryDims/2). Dimensions past rotaryDims and rows
 * with a negative (padding) position are copied unchanged. Angles are formed in double so that large
 * positions keep their precision; cos and sin are computed once per row and shared by all heads.
 */
record RopeKernel(int inSlot, int positionsSlot, int outSlot, int rows, int width, int headDim,
                  int rotaryDims, RopeStyle style, double[] inverseFrequencies) implements Kernel {

    /** theta^(-2i / rotaryDims) / factors[i] for each pair i; {@code factors} null means all 1. */
    static double[] inverseFrequencies(int rotaryDims, float theta, Tensor factors) {
        double[] f = new double[rotaryDims / 2];
        for (int i = 0; i < f.length; i++) {
            f[i] = Math.pow(theta, -2.0 * i / rotaryDims) / (factors == null ? 1.0 : factors.getFloat(i));
        }
        return f;
    }

    @Override
    public void run(Tensor[] values, ParallelLoop loop) {
        MemorySegment in = values[inSlot].data();
        MemorySegment positions = values[positionsSlot].data();
        MemorySegment out = values[outSlot].data();
        loop.forRange(rows, Math.max(1, 8192 / width), (from, to) -> {
            int pairs = rotaryDims / 2;
            float[] cos = new float[pairs];
            float[] sin = new float[pairs];
            long rowBytes = (long) width * Float.BYTES;
            for (int t = from; t < to; t++) {
                long rowOff = t * rowBytes;
                MemorySegment.copy(in, rowOff, out, rowOff, rowBytes);
                int pos = positions.get(I32, (long) t * Integer.BYTES);
                if (pos < 0) {
                    continue;
                }
                for (int i = 0; i < pairs; i++) {
                    double angle = pos * inverseFrequencies[i];
                    cos[i] = (float) Math.cos(angle);
                    sin[i] = (float) Math.sin(angle);
                }
                for (int head = 0; head < width / headDim; head++) {
                    rotateHead(out, rowOff + (long) head * headDim * Float.BYTES, cos, sin);
                }
            }
        });
    }

    private void rotateHead(MemorySegment x, long headOff, float[] cos, float[] sin) {
        int pairs = cos.length;
        for (int i = 0; i < pairs; i++) {
            int first = style == RopeStyle.ADJACENT ? 2 * i : i;
            int second = style == RopeStyle.ADJACENT ? 2 * i + 1 : i + pairs;
            long o0 = headOff + (long) first * Float.BYTES;
            long o1 = headOff + (long) second * Float.BYTES;
            float a = x.get(F32, o0);
            float b = x.get(F32, o1);
            x.set(F32, o0, a * cos[i] - b * sin[i]);
            x.set(F32, o1, a * sin[i] + b * cos[i]);
        }
    }
}
