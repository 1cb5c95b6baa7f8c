package io.llmnpu.backend.cpu;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.RopeStyle;
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
 * One Llama transformer block behind an embedding lookup, with random weights of mixed dtypes: the
 * shape of graph the runtime builds, used to check the ops together and across thread counts.
 */
final class LlamaBlockFixture {

    record Sizes(int rows, int vocab, int dim, int heads, int kvHeads, int headDim, int hidden, int context) {
    }

    /** What one execution produced. */
    record Result(float[] hidden, float[] lastRow, float[] kCache, float[] vCache) {
    }

    private final Sizes s;
    private final EncodedMatrix table;
    private final float[] attnNorm;
    private final float[] ffnNorm;
    private final EncodedMatrix wq;
    private final EncodedMatrix wk;
    private final EncodedMatrix wv;
    private final EncodedMatrix wo;
    private final EncodedMatrix wGate;
    private final EncodedMatrix wUp;
    private final EncodedMatrix wDown;
    private final Arena arena;
    private static final float EPS = 1e-5f;
    private static final float THETA = 10000f;

    LlamaBlockFixture(Arena arena, Sizes s, Random rnd) {
        this.arena = arena;
        this.s = s;
        int qWidth = s.heads() * s.headDim();
        int kvWidth = s.kvHeads() * s.headDim();
        table = EncodedMatrix.random(arena, DType.Q8_0, s.vocab(), s.dim(), rnd);
        attnNorm = TestData.floats(rnd, s.dim(), 1.5f);
        ffnNorm = TestData.floats(rnd, s.dim(), 1.5f);
        wq = EncodedMatrix.random(arena, DType.Q8_0, qWidth, s.dim(), rnd);
        // Q8_0 where this fixture had Q4_0: decode rounds the row to int8 for Q4_0's nibbles, which a
        // chain of float references would not follow (InterleavedRowsTest checks those kernels alone).
        wk = EncodedMatrix.random(arena, DType.Q8_0, kvWidth, s.dim(), rnd);
        wv = EncodedMatrix.random(arena, DType.F16, kvWidth, s.dim(), rnd);
        wo = EncodedMatrix.random(arena, DType.F32, s.dim(), qWidth, rnd);
        wGate = EncodedMatrix.random(arena, DType.BF16, s.hidden(), s.dim(), rnd);
        wUp = EncodedMatrix.random(arena, DType.Q8_0, s.hidden(), s.dim(), rnd);
        wDown = EncodedMatrix.random(arena, DType.Q8_0, s.dim(), s.hidden(), rnd);
    }

    /** Runs the block once on {@code backend} for {@code tokens} at {@code positions} over fresh caches. */
    Result run(Backend backend, int[] tokens, int[] positions) {
        int qWidth = s.heads() * s.headDim();
        int kvWidth = s.kvHeads() * s.headDim();
        int t = s.rows();
        SubgraphBuilder b = new SubgraphBuilder("llama-block");
        Value ids = b.input("tokens", DType.I32, Shape.of(t));
        Value pos = b.input("pos", DType.I32, Shape.of(t));
        Value kc = b.input("kCache", DType.F32, Shape.of(s.context(), kvWidth));
        Value vc = b.input("vCache", DType.F32, Shape.of(s.context(), kvWidth));
        Value x = b.add(new Op.Embedding(ids, table.tensor(), b.value("x", DType.F32, Shape.of(t, s.dim())))).out();
        Value h = b.add(new Op.RmsNorm(x, vector("attnNorm", attnNorm), EPS,
                b.value("h", DType.F32, Shape.of(t, s.dim())))).out();
        Value q = linear(b, h, wq, "q", qWidth);
        Value k = linear(b, h, wk, "k", kvWidth);
        Value v = linear(b, h, wv, "v", kvWidth);
        Value qr = b.add(new Op.Rope(q, pos, s.headDim(), s.headDim(), THETA, RopeStyle.ADJACENT,
                b.value("qr", DType.F32, q.shape()))).out();
        Value kr = b.add(new Op.Rope(k, pos, s.headDim(), s.headDim(), THETA, RopeStyle.ADJACENT,
                b.value("kr", DType.F32, k.shape()))).out();
        Value att = b.add(new Op.Attention(qr, kr, v, pos, kc, vc, s.heads(), s.kvHeads(), s.headDim(),
                b.value("att", DType.F32, q.shape()))).out();
        Value o = linear(b, att, wo, "o", s.dim());
        Value x2 = b.add(new Op.Add(x, o, b.value("x2", DType.F32, x.shape()))).out();
        Value h2 = b.add(new Op.RmsNorm(x2, vector("ffnNorm", ffnNorm), EPS,
                b.value("h2", DType.F32, x.shape()))).out();
        Value g = linear(b, h2, wGate, "gate", s.hidden());
        Value u = linear(b, h2, wUp, "up", s.hidden());
        Value act = b.add(new Op.SiluMul(g, u, b.value("act", DType.F32, g.shape()))).out();
        Value d = linear(b, act, wDown, "down", s.dim());
        Value x3 = b.add(new Op.Add(x2, d, b.value("x3", DType.F32, x.shape()))).out();
        Value last = b.add(new Op.SelectRow(x3, t - 1, b.value("last", DType.F32, Shape.of(1, s.dim())))).out();
        b.output(x3);
        b.output(last);

        Tensor kCache = Tensor.allocate(arena, "kCache", DType.F32, kc.shape());
        Tensor vCache = Tensor.allocate(arena, "vCache", DType.F32, vc.shape());
        Tensor out = Tensor.allocate(arena, "x3", DType.F32, x3.shape());
        Tensor lastRow = Tensor.allocate(arena, "last", DType.F32, last.shape());
        Map<Value, Tensor> bindings = new HashMap<>();
        bindings.put(ids, TestData.i32(arena, "tokens", tokens));
        bindings.put(pos, TestData.i32(arena, "pos", positions));
        bindings.put(kc, kCache);
        bindings.put(vc, vCache);
        bindings.put(x3, out);
        bindings.put(last, lastRow);
        try (CompiledGraph graph = backend.devices().getFirst().compile(b.build())) {
            graph.execute(bindings);
        }
        return new Result(TestData.read(out), TestData.read(lastRow), TestData.read(kCache), TestData.read(vCache));
    }

    /** The same block through the scalar reference ops, rounding to float between ops like the graph does. */
    Result reference(int[] tokens, int[] positions) {
        int t = s.rows();
        int qWidth = s.heads() * s.headDim();
        int kvWidth = s.kvHeads() * s.headDim();
        float[] x = f(Reference.embedding(table.values(), s.dim(), tokens));
        float[] h = f(Reference.rmsNorm(x, t, s.dim(), attnNorm, EPS));
        float[] q = f(Reference.linear(wq.values(), qWidth, s.dim(), h, t));
        float[] k = f(Reference.linear(wk.values(), kvWidth, s.dim(), h, t));
        float[] v = f(Reference.linear(wv.values(), kvWidth, s.dim(), h, t));
        float[] qr = f(Reference.rope(q, t, qWidth, positions, s.headDim(), s.headDim(), THETA, RopeStyle.ADJACENT));
        float[] kr = f(Reference.rope(k, t, kvWidth, positions, s.headDim(), s.headDim(), THETA, RopeStyle.ADJACENT));
        float[] kCache = new float[s.context() * kvWidth];
        float[] vCache = new float[s.context() * kvWidth];
        float[] att = f(Reference.attention(qr, kr, v, positions, kCache, vCache, t, s.heads(), s.kvHeads(),
                s.headDim()));
        float[] o = f(Reference.linear(wo.values(), s.dim(), qWidth, att, t));
        float[] x2 = f(Reference.add(x, o));
        float[] h2 = f(Reference.rmsNorm(x2, t, s.dim(), ffnNorm, EPS));
        float[] g = f(Reference.linear(wGate.values(), s.hidden(), s.dim(), h2, t));
        float[] u = f(Reference.linear(wUp.values(), s.hidden(), s.dim(), h2, t));
        float[] act = f(Reference.siluMul(g, u));
        float[] d = f(Reference.linear(wDown.values(), s.dim(), s.hidden(), act, t));
        float[] x3 = f(Reference.add(x2, d));
        return new Result(x3, f(Reference.selectRow(x3, s.dim(), t - 1)), kCache, vCache);
    }

    private static Value linear(SubgraphBuilder b, Value in, EncodedMatrix w, String name, int outWidth) {
        return b.add(new Op.Linear(in, w.tensor(), b.value(name, DType.F32, Shape.of(in.shape().dim(0), outWidth))))
                .out();
    }

    private Tensor vector(String name, float[] values) {
        return TestData.f32(arena, name, Shape.of(values.length), values);
    }

    static float[] f(double[] a) {
        float[] r = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = (float) a[i];
        }
        return r;
    }

    static double[] d(float[] a) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = a[i];
        }
        return r;
    }
}
