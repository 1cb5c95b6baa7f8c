package io.llmnpu.backend.npu.reference;

import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Int8Weights;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import java.util.Random;

/** Random INT8 layers, one-op graphs around them, and the scalar reference of the op's definition. */
final class Int8Fixtures {

    private Int8Fixtures() {
    }

    /** Random codes in -127..127 (and -128 when {@code allowMin}), with per-tensor or per-row scales. */
    static Int8Weights weights(Arena arena, String name, int rows, int cols, boolean perChannel, Random rnd) {
        MemorySegment data = arena.allocate((long) rows * cols);
        for (long i = 0; i < (long) rows * cols; i++) {
            data.set(ValueLayout.JAVA_BYTE, i, (byte) (rnd.nextInt(255) - 127));
        }
        float[] scales = new float[perChannel ? rows : 1];
        for (int i = 0; i < scales.length; i++) {
            scales[i] = (float) (0.001 + 0.01 * rnd.nextDouble());
        }
        return new Int8Weights(name, Shape.of(rows, cols), data, scales);
    }

    static Tensor floats(Arena arena, String name, Shape shape, Random rnd, float amplitude) {
        Tensor t = Tensor.allocate(arena, name, DType.F32, shape);
        for (long i = 0; i < shape.elements(); i++) {
            t.setFloat(i, (float) (rnd.nextGaussian() * amplitude));
        }
        return t;
    }

    /** A graph holding one QuantizedLinear with input "x" and output "y". */
    static Subgraph singleLinear(int tokens, Int8Weights w, float inputScale, float outputScale) {
        SubgraphBuilder b = new SubgraphBuilder("qlinear");
        Value x = b.input("x", DType.F32, Shape.of(tokens, w.cols()));
        Value y = b.value("y", DType.F32, Shape.of(tokens, w.rows()));
        b.add(new Op.QuantizedLinear(x, w, inputScale, outputScale, y));
        b.output(y);
        return b.build();
    }

    static void run(Device device, Subgraph g, Tensor x, Tensor y) {
        try (CompiledGraph c = device.compile(g)) {
            c.execute(Map.of(g.inputs().getFirst(), x, g.outputs().getFirst(), y));
        }
    }

    /** The INT32 accumulators of the op's definition, computed with longs from the raw codes. */
    static long[][] accumulators(Tensor x, Int8Weights w, float inputScale) {
        int tokens = x.shape().rows();
        int cols = w.cols();
        long[][] acc = new long[tokens][w.rows()];
        for (int t = 0; t < tokens; t++) {
            int[] q = new int[cols];
            for (int c = 0; c < cols; c++) {
                double v = Math.rint(x.getFloat((long) t * cols + c) / inputScale);
                q[c] = (int) Math.max(-127, Math.min(127, v));
            }
            for (int r = 0; r < w.rows(); r++) {
                long sum = 0;
                for (int c = 0; c < cols; c++) {
                    sum += (long) q[c] * w.data().get(ValueLayout.JAVA_BYTE, (long) r * cols + c);
                }
                acc[t][r] = sum;
            }
        }
        return acc;
    }
}
