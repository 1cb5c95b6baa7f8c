package io.llmnpu.tck;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.RopeStyle;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;

/**
 * A one-layer Llama model in the op vocabulary, the way the runtime builds it: embedding, attention
 * block with GQA and RoPE over a KV cache, gated FFN block, final norm, then the last real row through
 * an LM head. Weights are made once, so graphs for different row counts share them.
 */
final class TransformerBlock {
    static final int DIM = 64;
    static final int HIDDEN = 96;
    static final int HEADS = 4;
    static final int KV_HEADS = 2;
    static final int HEAD_DIM = 16;
    static final int VOCAB = 37;
    static final int CACHE_ROWS = 12;
    static final float EPS = 1e-5f;
    static final float THETA = 10_000f;

    private final RopeStyle style;
    private final int rotaryDims;
    private final Tensor embedding;
    private final Tensor attnNorm;
    private final Tensor wq;
    private final Tensor wk;
    private final Tensor wv;
    private final Tensor wo;
    private final Tensor ffnNorm;
    private final Tensor wGate;
    private final Tensor wUp;
    private final Tensor wDown;
    private final Tensor finalNorm;
    private final Tensor head;

    TransformerBlock(RandomTensors data, DType weightType, RopeStyle style, int rotaryDims) {
        this.style = style;
        this.rotaryDims = rotaryDims;
        int kvDim = KV_HEADS * HEAD_DIM;
        int qDim = HEADS * HEAD_DIM;
        embedding = data.weights("token_embd", weightType, Shape.of(VOCAB, DIM), 1.0);
        attnNorm = data.uniform("attn_norm", Shape.of(DIM), 1.5);
        wq = linearWeight(data, "attn_q", weightType, qDim, DIM);
        wk = linearWeight(data, "attn_k", weightType, kvDim, DIM);
        wv = linearWeight(data, "attn_v", weightType, kvDim, DIM);
        wo = linearWeight(data, "attn_output", weightType, DIM, qDim);
        ffnNorm = data.uniform("ffn_norm", Shape.of(DIM), 1.5);
        wGate = linearWeight(data, "ffn_gate", weightType, HIDDEN, DIM);
        wUp = linearWeight(data, "ffn_up", weightType, HIDDEN, DIM);
        wDown = linearWeight(data, "ffn_down", weightType, DIM, HIDDEN);
        finalNorm = data.uniform("output_norm", Shape.of(DIM), 1.5);
        head = linearWeight(data, "output", weightType, VOCAB, DIM);
    }

    /** Weights scaled so activations keep roughly unit size from layer to layer. */
    private static Tensor linearWeight(RandomTensors data, String name, DType dtype, int out, int in) {
        return data.weights(name, dtype, Shape.of(out, in), 1.5 / Math.sqrt(in));
    }

    static Shape cacheShape() {
        return Shape.of(CACHE_ROWS, KV_HEADS * HEAD_DIM);
    }

    /**
     * The graph for {@code rows} tokens; its logits come from row {@code lastRow}. Inputs in order:
     * tokens, positions, key cache, value cache. Outputs: the final-normed hidden state, the logits.
     */
    Subgraph build(int rows, int lastRow) {
        int qDim = HEADS * HEAD_DIM;
        int kvDim = KV_HEADS * HEAD_DIM;
        SubgraphBuilder g = new SubgraphBuilder("block-" + rows);
        Value tokens = g.input("tokens", DType.I32, Shape.of(rows));
        Value positions = g.input("positions", DType.I32, Shape.of(rows));
        Value kCache = g.input("cache_k", DType.F32, cacheShape());
        Value vCache = g.input("cache_v", DType.F32, cacheShape());

        Value x = g.add(new Op.Embedding(tokens, embedding, g.value("x", DType.F32, Shape.of(rows, DIM)))).out();
        Value xn = g.add(new Op.RmsNorm(x, attnNorm, EPS, g.value("attn_in", DType.F32, Shape.of(rows, DIM)))).out();
        Value q = g.add(new Op.Linear(xn, wq, g.value("q", DType.F32, Shape.of(rows, qDim)))).out();
        Value k = g.add(new Op.Linear(xn, wk, g.value("k", DType.F32, Shape.of(rows, kvDim)))).out();
        Value v = g.add(new Op.Linear(xn, wv, g.value("v", DType.F32, Shape.of(rows, kvDim)))).out();
        Value qr = g.add(new Op.Rope(q, positions, HEAD_DIM, rotaryDims, THETA, style,
                g.value("q_rope", DType.F32, Shape.of(rows, qDim)))).out();
        Value kr = g.add(new Op.Rope(k, positions, HEAD_DIM, rotaryDims, THETA, style,
                g.value("k_rope", DType.F32, Shape.of(rows, kvDim)))).out();
        Value att = g.add(new Op.Attention(qr, kr, v, positions, kCache, vCache, HEADS, KV_HEADS, HEAD_DIM,
                g.value("attn", DType.F32, Shape.of(rows, qDim)))).out();
        Value attOut = g.add(new Op.Linear(att, wo, g.value("attn_out", DType.F32, Shape.of(rows, DIM)))).out();
        Value h = g.add(new Op.Add(x, attOut, g.value("resid", DType.F32, Shape.of(rows, DIM)))).out();
        Value hn = g.add(new Op.RmsNorm(h, ffnNorm, EPS, g.value("ffn_in", DType.F32, Shape.of(rows, DIM)))).out();
        Value gate = g.add(new Op.Linear(hn, wGate, g.value("gate", DType.F32, Shape.of(rows, HIDDEN)))).out();
        Value up = g.add(new Op.Linear(hn, wUp, g.value("up", DType.F32, Shape.of(rows, HIDDEN)))).out();
        Value act = g.add(new Op.SiluMul(gate, up, g.value("act", DType.F32, Shape.of(rows, HIDDEN)))).out();
        Value down = g.add(new Op.Linear(act, wDown, g.value("down", DType.F32, Shape.of(rows, DIM)))).out();
        Value out = g.add(new Op.Add(h, down, g.value("block_out", DType.F32, Shape.of(rows, DIM)))).out();
        Value hidden = g.add(new Op.RmsNorm(out, finalNorm, EPS, g.value("hidden", DType.F32, Shape.of(rows, DIM)))).out();
        Value last = g.add(new Op.SelectRow(hidden, lastRow, g.value("last", DType.F32, Shape.of(1, DIM)))).out();
        Value logits = g.add(new Op.Linear(last, head, g.value("logits", DType.F32, Shape.of(1, VOCAB)))).out();
        g.output(hidden);
        g.output(logits);
        return g.build();
    }
}
