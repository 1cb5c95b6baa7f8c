package io.llmnpu.backend.opencl;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.RopeStyle;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

/**
 * One Llama transformer block with grouped KV heads and mixed weight types, as a graph of any row
 * count, plus the same block in double precision: enough ops that buffer reuse, state binding and
 * kernel selection (GEMV for few rows, GEMM for many) all take part.
 */
final class TinyBlock {
    static final int DIM = 64;
    static final int HEADS = 4;
    static final int KV_HEADS = 2;
    static final int HEAD_DIM = 16;
    static final int KV_DIM = KV_HEADS * HEAD_DIM;
    static final int HIDDEN = 96;
    static final float EPS = 1e-5f;
    static final float THETA = 10000f;

    final RopeStyle style;
    final Tensor attnNorm;
    final Tensor ffnNorm;
    final Tensor wq;
    final Tensor wk;
    final Tensor wv;
    final Tensor wo;
    final Tensor wGate;
    final Tensor wUp;
    final Tensor wDown;

    TinyBlock(Arena arena, Random rnd, RopeStyle style) {
        this.style = style;
        this.attnNorm = vector(WeightCodec.random(arena, "attn_norm", DType.F32, 1, DIM, rnd));
        this.ffnNorm = vector(WeightCodec.random(arena, "ffn_norm", DType.F32, 1, DIM, rnd));
        this.wq = WeightCodec.random(arena, "wq", DType.Q8_0, DIM, DIM, rnd);
        this.wk = WeightCodec.random(arena, "wk", DType.Q4_0, KV_DIM, DIM, rnd);
        this.wv = WeightCodec.random(arena, "wv", DType.F16, KV_DIM, DIM, rnd);
        this.wo = WeightCodec.random(arena, "wo", DType.F32, DIM, DIM, rnd);
        this.wGate = WeightCodec.random(arena, "w_gate", DType.BF16, HIDDEN, DIM, rnd);
        this.wUp = WeightCodec.random(arena, "w_up", DType.Q8_0, HIDDEN, DIM, rnd);
        this.wDown = WeightCodec.random(arena, "w_down", DType.Q4_0, DIM, HIDDEN, rnd);
    }

    private static Tensor vector(Tensor row) {
        return new Tensor(row.name(), row.dtype(), Shape.of(row.shape().cols()), row.data());
    }

    /** The graph's inputs and output, by role. */
    record Graph(Subgraph graph, Value x, Value positions, Value kCache, Value vCache, Value out) {
        Map<Value, Tensor> bind(Tensor xt, Tensor pos, Tensor kc, Tensor vc, Tensor outT) {
            Map<Value, Tensor> b = new HashMap<>();
            b.put(x, xt);
            b.put(positions, pos);
            b.put(kCache, kc);
            b.put(vCache, vc);
            b.put(out, outT);
            return b;
        }
    }

    Graph graph(int rows, int contextRows) {
        SubgraphBuilder g = new SubgraphBuilder("block-" + rows);
        Value x = g.input("x", DType.F32, Shape.of(rows, DIM));
        Value pos = g.input("positions", DType.I32, Shape.of(rows));
        Value kc = g.input("k_cache", DType.F32, Shape.of(contextRows, KV_DIM));
        Value vc = g.input("v_cache", DType.F32, Shape.of(contextRows, KV_DIM));
        Value xn = g.add(new Op.RmsNorm(x, attnNorm, EPS, g.value("xn", DType.F32, Shape.of(rows, DIM)))).out();
        Value q = g.add(new Op.Linear(xn, wq, g.value("q", DType.F32, Shape.of(rows, DIM)))).out();
        Value k = g.add(new Op.Linear(xn, wk, g.value("k", DType.F32, Shape.of(rows, KV_DIM)))).out();
        Value v = g.add(new Op.Linear(xn, wv, g.value("v", DType.F32, Shape.of(rows, KV_DIM)))).out();
        Value qr = g.add(new Op.Rope(q, pos, HEAD_DIM, HEAD_DIM, THETA, style, g.value("qr", DType.F32, Shape.of(rows, DIM)))).out();
        Value kr = g.add(new Op.Rope(k, pos, HEAD_DIM, HEAD_DIM, THETA, style, g.value("kr", DType.F32, Shape.of(rows, KV_DIM)))).out();
        Value att = g.add(new Op.Attention(qr, kr, v, pos, kc, vc, HEADS, KV_HEADS, HEAD_DIM,
                g.value("att", DType.F32, Shape.of(rows, DIM)))).out();
        Value o = g.add(new Op.Linear(att, wo, g.value("o", DType.F32, Shape.of(rows, DIM)))).out();
        Value h = g.add(new Op.Add(x, o, g.value("h", DType.F32, Shape.of(rows, DIM)))).out();
        Value hn = g.add(new Op.RmsNorm(h, ffnNorm, EPS, g.value("hn", DType.F32, Shape.of(rows, DIM)))).out();
        Value gate = g.add(new Op.Linear(hn, wGate, g.value("gate", DType.F32, Shape.of(rows, HIDDEN)))).out();
        Value up = g.add(new Op.Linear(hn, wUp, g.value("up", DType.F32, Shape.of(rows, HIDDEN)))).out();
        Value act = g.add(new Op.SiluMul(gate, up, g.value("act", DType.F32, Shape.of(rows, HIDDEN)))).out();
        Value down = g.add(new Op.Linear(act, wDown, g.value("down", DType.F32, Shape.of(rows, DIM)))).out();
        Value out = g.add(new Op.Add(h, down, g.value("out", DType.F32, Shape.of(rows, DIM)))).out();
        g.output(out);
        return new Graph(g.build(), x, pos, kc, vc, out);
    }

    /** The block in double precision; updates the caches like the Attention op. */
    double[][] reference(double[][] x, int[] positions, double[][] kCache, double[][] vCache) {
        double[][] xn = Reference.rmsNorm(x, WeightCodec.vector(attnNorm), EPS);
        double[][] q = Reference.linear(xn, WeightCodec.matrix(wq));
        double[][] k = Reference.linear(xn, WeightCodec.matrix(wk));
        double[][] v = Reference.linear(xn, WeightCodec.matrix(wv));
        double[][] qr = Reference.rope(q, positions, HEAD_DIM, HEAD_DIM, THETA, style);
        double[][] kr = Reference.rope(k, positions, HEAD_DIM, HEAD_DIM, THETA, style);
        double[][] att = Reference.attention(qr, kr, v, positions, kCache, vCache, HEADS, KV_HEADS, HEAD_DIM);
        double[][] h = add(x, Reference.linear(att, WeightCodec.matrix(wo)));
        double[][] hn = Reference.rmsNorm(h, WeightCodec.vector(ffnNorm), EPS);
        double[][] gate = Reference.linear(hn, WeightCodec.matrix(wGate));
        double[][] up = Reference.linear(hn, WeightCodec.matrix(wUp));
        double[][] act = new double[gate.length][HIDDEN];
        for (int t = 0; t < gate.length; t++) {
            for (int i = 0; i < HIDDEN; i++) {
                act[t][i] = Reference.silu(gate[t][i]) * up[t][i];
            }
        }
        return add(h, Reference.linear(act, WeightCodec.matrix(wDown)));
    }

    private static double[][] add(double[][] a, double[][] b) {
        double[][] out = new double[a.length][];
        for (int t = 0; t < a.length; t++) {
            out[t] = new double[a[t].length];
            for (int i = 0; i < a[t].length; i++) {
                out[t][i] = a[t][i] + b[t][i];
            }
        }
        return out;
    }
}
