package io.llmnpu.scheduler;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.RopeStyle;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Int8Weights;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.function.IntPredicate;

/**
 * Transformer-shaped graphs over shape-only weights (memory that is never touched), for placement and
 * simulation tests: the body of a Llama block stack with every linear layer either float or INT8 (with
 * an outlier shadow and its merge where {@code shadowed} says so), and an LM head.
 */
final class SyntheticGraphs {
    private SyntheticGraphs() {
    }

    record Shape5(int dim, int hidden, int layers, int heads, int kvHeads, int vocab) {
        int headDim() {
            return dim / heads;
        }

        int kvDim() {
            return kvHeads * headDim();
        }
    }

    static final Shape5 QWEN = new Shape5(2048, 5504, 24, 16, 16, 151936);

    static Tensor weight(String name, DType dtype, int rows, int cols) {
        Shape s = Shape.of(rows, cols);
        return new Tensor(name, dtype, s, MemorySegment.NULL.reinterpret(dtype.byteSize(s.elements())));
    }

    static Int8Weights int8(String name, int rows, int cols) {
        return new Int8Weights(name, Shape.of(rows, cols), MemorySegment.NULL.reinterpret((long) rows * cols),
                new float[] {1f});
    }

    /** The body for {@code rows} tokens; {@code int8} says which layers run INT8 linears, {@code shadowed} which of those keep shadows. */
    static Subgraph body(Shape5 m, int rows, int cacheRows, IntPredicate int8, IntPredicate shadowed) {
        SubgraphBuilder g = new SubgraphBuilder("body-" + rows);
        Value tokens = g.input("tokens", DType.I32, Shape.of(rows));
        Value positions = g.input("positions", DType.I32, Shape.of(rows));
        Value[] k = new Value[m.layers()];
        Value[] v = new Value[m.layers()];
        for (int l = 0; l < m.layers(); l++) {
            k[l] = g.input("cache_k." + l, DType.F32, Shape.of(cacheRows, m.kvDim()));
            v[l] = g.input("cache_v." + l, DType.F32, Shape.of(cacheRows, m.kvDim()));
        }
        Value x = f(g, "embedding", rows, m.dim());
        g.add(new Op.Embedding(tokens, weight("token_embd", DType.F16, m.vocab(), m.dim()), x));
        for (int l = 0; l < m.layers(); l++) {
            String p = "blk." + l + ".";
            Value xn = f(g, p + "attn_in", rows, m.dim());
            g.add(new Op.RmsNorm(x, weight(p + "attn_norm", DType.F32, 1, m.dim()), 1e-5f, xn));
            Value q = linear(g, l, p + "q", xn, m.dim(), m.dim(), int8, shadowed);
            Value kk = linear(g, l, p + "k", xn, m.kvDim(), m.dim(), int8, shadowed);
            Value vv = linear(g, l, p + "v", xn, m.kvDim(), m.dim(), int8, shadowed);
            Value qr = f(g, p + "q_rope", rows, m.dim());
            Value kr = f(g, p + "k_rope", rows, m.kvDim());
            g.add(new Op.Rope(q, positions, m.headDim(), m.headDim(), 1e4f, RopeStyle.NEOX, qr));
            g.add(new Op.Rope(kk, positions, m.headDim(), m.headDim(), 1e4f, RopeStyle.NEOX, kr));
            Value att = f(g, p + "attn", rows, m.dim());
            g.add(new Op.Attention(qr, kr, vv, positions, k[l], v[l], m.heads(), m.kvHeads(), m.headDim(), att));
            Value o = linear(g, l, p + "attn_out", att, m.dim(), m.dim(), int8, shadowed);
            Value h = f(g, p + "resid_attn", rows, m.dim());
            g.add(new Op.Add(x, o, h));
            Value hn = f(g, p + "ffn_in", rows, m.dim());
            g.add(new Op.RmsNorm(h, weight(p + "ffn_norm", DType.F32, 1, m.dim()), 1e-5f, hn));
            Value gate = linear(g, l, p + "ffn_gate", hn, m.hidden(), m.dim(), int8, shadowed);
            Value up = linear(g, l, p + "ffn_up", hn, m.hidden(), m.dim(), int8, shadowed);
            Value act = f(g, p + "ffn_act", rows, m.hidden());
            g.add(new Op.SiluMul(gate, up, act));
            Value down = linear(g, l, p + "ffn_down", act, m.dim(), m.hidden(), int8, shadowed);
            Value out = f(g, p + "out", rows, m.dim());
            g.add(new Op.Add(h, down, out));
            x = out;
        }
        Value hidden = f(g, "hidden", rows, m.dim());
        g.add(new Op.RmsNorm(x, weight("output_norm", DType.F32, 1, m.dim()), 1e-5f, hidden));
        g.output(hidden);
        return g.build();
    }

    static Subgraph head(Shape5 m, int rows) {
        SubgraphBuilder g = new SubgraphBuilder("head-" + rows);
        Value in = g.input("hidden", DType.F32, Shape.of(rows, m.dim()));
        Value logits = f(g, "logits", rows, m.vocab());
        g.add(new Op.Linear(in, weight("output", DType.F16, m.vocab(), m.dim()), logits));
        g.output(logits);
        return g.build();
    }

    private static Value f(SubgraphBuilder g, String name, int rows, int cols) {
        return g.value(name, DType.F32, Shape.of(rows, cols));
    }

    private static Value linear(SubgraphBuilder g, int layer, String name, Value in, int out, int inDim,
                                IntPredicate int8, IntPredicate shadowed) {
        int rows = in.shape().rows();
        Value y = f(g, name, rows, out);
        Tensor w = weight(name + ".weight", DType.F16, out, inDim);
        if (!int8.test(layer)) {
            g.add(new Op.Linear(in, w, y));
            return y;
        }
        if (!shadowed.test(layer)) {
            g.add(new Op.QuantizedLinear(in, int8(name, out, inDim), 0.01f, y));
            return y;
        }
        Value npu = f(g, name + ".npu", rows, out);
        Value shadow = f(g, name + ".shadow", rows, out);
        g.add(new Op.QuantizedLinear(in, int8(name, out, inDim), 0.01f, npu));
        g.add(new Op.OutlierShadow(in, 1.27f, w, new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, shadow));
        g.add(new Op.ShadowMerge(npu, shadow, in, w, Float.POSITIVE_INFINITY, y));
        return y;
    }
}
