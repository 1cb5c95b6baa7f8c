package io.llmnpu.runtime.cli;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.RopeStyle;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Int8Weights;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * One op of each kind at the shapes of a 1B-parameter Llama (TinyLlama-1.1B: dim 2048, FFN 5632,
 * 32 query heads and 4 KV heads of 64, vocabulary 32000, context 2048), for a given number of token
 * rows: what {@code llmnpu backends} asks devices to estimate. Weights are zeros; a device only
 * looks at their shapes and dtypes to say how it would run the op.
 */
final class RepresentativeOps implements AutoCloseable {
    static final int DIM = 2048;
    static final int FFN = 5632;
    static final int HEADS = 32;
    static final int KV_HEADS = 4;
    static final int HEAD_DIM = 64;
    static final int VOCAB = 32000;
    static final int CONTEXT = 2048;

    /** An op with how to describe it in a table. */
    record Sample(String kind, String shape, int rows, Op op) {
    }

    private final Arena arena = Arena.ofConfined();
    /** Zeroed memory shared by every weight: each weight is a prefix of it. */
    private final MemorySegment zeros;

    RepresentativeOps() {
        long largest = DType.Q8_0.byteSize((long) VOCAB * DIM);
        this.zeros = arena.allocate(largest, 64);
    }

    private Tensor weight(String name, DType dtype, int rows, int cols) {
        Shape shape = Shape.of(rows, cols);
        return new Tensor(name, dtype, shape, zeros.asSlice(0, dtype.byteSize(shape.elements())));
    }

    private static Value value(int id, String name, DType dtype, int... dims) {
        return new Value(id, name, dtype, Shape.of(dims));
    }

    /** One sample of each op kind (two for Linear: F32 and Q8_0 weights) for {@code t} token rows. */
    List<Sample> at(int t) {
        int kvDim = KV_HEADS * HEAD_DIM;
        Value x = value(0, "x", DType.F32, t, DIM);
        Value y = value(1, "y", DType.F32, t, DIM);
        Value out = value(2, "out", DType.F32, t, DIM);
        Value tokens = value(3, "tokens", DType.I32, t);
        Value positions = value(4, "positions", DType.I32, t);
        Value k = value(5, "k", DType.F32, t, kvDim);
        Value v = value(6, "v", DType.F32, t, kvDim);
        Value kCache = value(7, "cache_k", DType.F32, CONTEXT, kvDim);
        Value vCache = value(8, "cache_v", DType.F32, CONTEXT, kvDim);
        Value gate = value(9, "gate", DType.F32, t, FFN);
        Value up = value(10, "up", DType.F32, t, FFN);
        Value act = value(11, "act", DType.F32, t, FFN);
        Value row = value(12, "row", DType.F32, 1, DIM);
        String square = DIM + "x" + DIM;
        List<Sample> samples = new ArrayList<>();
        samples.add(new Sample("Linear", "F32 " + square, t, new Op.Linear(x, weight("w", DType.F32, DIM, DIM), out)));
        samples.add(new Sample("Linear", "Q8_0 " + square, t, new Op.Linear(x, weight("w", DType.Q8_0, DIM, DIM), out)));
        samples.add(new Sample("Embedding", "Q8_0 " + VOCAB + "x" + DIM, t,
                new Op.Embedding(tokens, weight("table", DType.Q8_0, VOCAB, DIM), out)));
        samples.add(new Sample("RmsNorm", String.valueOf(DIM), t,
                new Op.RmsNorm(x, new Tensor("norm", DType.F32, Shape.of(DIM), zeros.asSlice(0, 4L * DIM)), 1e-5f, out)));
        samples.add(new Sample("Rope", HEADS + " heads x " + HEAD_DIM, t,
                new Op.Rope(x, positions, HEAD_DIM, HEAD_DIM, 10000f, RopeStyle.NEOX, out)));
        samples.add(new Sample("Attention", HEADS + "/" + KV_HEADS + " heads x " + HEAD_DIM + ", context " + CONTEXT, t,
                new Op.Attention(x, k, v, positions, kCache, vCache, HEADS, KV_HEADS, HEAD_DIM, out)));
        samples.add(new Sample("SiluMul", String.valueOf(FFN), t, new Op.SiluMul(gate, up, act)));
        samples.add(new Sample("GeluMul", String.valueOf(FFN), t, new Op.GeluMul(gate, up, act)));
        samples.add(new Sample("Gelu", String.valueOf(FFN), t, new Op.Gelu(gate, act)));
        Tensor vector = new Tensor("vector", DType.F32, Shape.of(DIM), zeros.asSlice(0, 4L * DIM));
        samples.add(new Sample("LayerNorm", DIM + ", with bias", t, new Op.LayerNorm(x, vector, vector, 1e-5f, out)));
        samples.add(new Sample("AddBias", String.valueOf(DIM), t, new Op.AddBias(x, vector, out)));
        samples.add(new Sample("Scale", String.valueOf(DIM), t, new Op.Scale(x, 45.25f, out)));
        samples.add(new Sample("SoftCap", String.valueOf(DIM), t, new Op.SoftCap(x, 30f, out)));
        samples.add(new Sample("Add", String.valueOf(DIM), t, new Op.Add(x, y, out)));
        samples.add(new Sample("SelectRow", DIM + ", last of " + t + " rows", t, new Op.SelectRow(x, t - 1, row)));
        Int8Weights int8 = new Int8Weights("w", Shape.of(DIM, DIM), zeros.asSlice(0, (long) DIM * DIM), new float[] {1f / 127});
        samples.add(new Sample("QuantizedLinear", "INT8 " + square, t, new Op.QuantizedLinear(x, int8, 1f / 127, out)));
        samples.add(new Sample("OutlierShadow", "F32 " + square + ", 8 hot channels", t,
                new Op.OutlierShadow(x, 1f, weight("w", DType.F32, DIM, DIM), new int[] {0, 1, 2, 3, 4, 5, 6, 7}, out)));
        samples.add(new Sample("ShadowMerge", "F32 " + square, t,
                new Op.ShadowMerge(x, y, x, weight("w", DType.F32, DIM, DIM), Float.POSITIVE_INFINITY, out)));
        return samples;
    }

    @Override
    public void close() {
        arena.close();
    }
}
