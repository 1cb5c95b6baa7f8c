package io.llmnpu.runtime.engine;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.runtime.model.LayerWeights;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelWeights;

/**
 * Expresses the Llama forward pass as core-api ops. For T rows it builds two static-shape graphs:
 * the body (embedding, every transformer block, final norm) and the head (LM head). The head is
 * separate because usually only the last real row of a prompt needs logits, and which row that is
 * depends on the padding.
 */
public final class LlamaGraphBuilder implements GraphSource {
    private final ModelConfig config;
    private final ModelWeights weights;

    public LlamaGraphBuilder(ModelConfig config, ModelWeights weights) {
        this.config = config;
        this.weights = weights;
    }

    /** Names of the body graph's inputs and outputs, in the order the graph lists them. */
    public static final String TOKENS = "tokens";
    public static final String POSITIONS = "positions";
    public static final String HIDDEN = "hidden";
    public static final String LOGITS = "logits";

    public static String keyCacheName(int layer) {
        return "cache_k." + layer;
    }

    public static String valueCacheName(int layer) {
        return "cache_v." + layer;
    }

    /**
     * Body graph for {@code rows} tokens against a KV cache of {@code cacheRows} positions.
     * Inputs: tokens I32[rows], positions I32[rows] (negative = padding), then per layer the key and
     * value caches. Output: the final-normed hidden state [rows, dim].
     */
    @Override
    public Subgraph body(int rows, int cacheRows) {
        SubgraphBuilder g = new SubgraphBuilder("llama-body-" + rows);
        int dim = config.dim();
        Value tokens = g.input(TOKENS, DType.I32, Shape.of(rows));
        Value positions = g.input(POSITIONS, DType.I32, Shape.of(rows));
        Value[] kCaches = new Value[config.layers()];
        Value[] vCaches = new Value[config.layers()];
        Shape cacheShape = Shape.of(cacheRows, config.kvDim());
        for (int l = 0; l < config.layers(); l++) {
            kCaches[l] = g.input(keyCacheName(l), DType.F32, cacheShape);
            vCaches[l] = g.input(valueCacheName(l), DType.F32, cacheShape);
        }
        Value x = g.value("embedding", DType.F32, Shape.of(rows, dim));
        g.add(new Op.Embedding(tokens, weights.tokenEmbedding(), x));
        for (int l = 0; l < config.layers(); l++) {
            x = block(g, l, rows, x, positions, kCaches[l], vCaches[l]);
        }
        Value out = g.value(HIDDEN, DType.F32, Shape.of(rows, dim));
        g.add(new Op.RmsNorm(x, weights.finalNorm(), config.rmsEps(), out));
        g.output(out);
        return g.build();
    }

    /** Head graph: {@code rows} final-normed rows [rows, dim] in, logits [rows, vocab] out. */
    @Override
    public Subgraph head(int rows) {
        SubgraphBuilder g = new SubgraphBuilder(rows == 1 ? "llama-head" : "llama-head-" + rows);
        Value in = g.input(HIDDEN, DType.F32, Shape.of(rows, config.dim()));
        Value logits = g.value(LOGITS, DType.F32, Shape.of(rows, config.vocabSize()));
        g.add(new Op.Linear(in, weights.output(), logits));
        g.output(logits);
        return g.build();
    }

    /** One transformer block: x + attention(norm(x)), then h + ffn(norm(h)). */
    private Value block(SubgraphBuilder g, int l, int rows, Value x, Value positions, Value kCache, Value vCache) {
        LayerWeights w = weights.layers().get(l);
        int dim = config.dim();
        String p = "blk." + l + ".";

        Value xn = g.value(p + "attn_in", DType.F32, Shape.of(rows, dim));
        g.add(new Op.RmsNorm(x, w.attnNorm(), config.rmsEps(), xn));
        Value q = g.value(p + "q", DType.F32, Shape.of(rows, config.qDim()));
        Value k = g.value(p + "k", DType.F32, Shape.of(rows, config.kvDim()));
        Value v = g.value(p + "v", DType.F32, Shape.of(rows, config.kvDim()));
        g.add(new Op.Linear(xn, w.wq(), q));
        g.add(new Op.Linear(xn, w.wk(), k));
        g.add(new Op.Linear(xn, w.wv(), v));
        Value qr = g.value(p + "q_rope", DType.F32, Shape.of(rows, config.qDim()));
        Value kr = g.value(p + "k_rope", DType.F32, Shape.of(rows, config.kvDim()));
        g.add(new Op.Rope(q, positions, config.headDim(), config.rotaryDims(), config.ropeTheta(), config.ropeStyle(), qr));
        g.add(new Op.Rope(k, positions, config.headDim(), config.rotaryDims(), config.ropeTheta(), config.ropeStyle(), kr));
        Value att = g.value(p + "attn", DType.F32, Shape.of(rows, config.qDim()));
        g.add(new Op.Attention(qr, kr, v, positions, kCache, vCache,
                config.heads(), config.kvHeads(), config.headDim(), att));
        Value attOut = g.value(p + "attn_out", DType.F32, Shape.of(rows, dim));
        g.add(new Op.Linear(att, w.wo(), attOut));
        Value h = g.value(p + "resid_attn", DType.F32, Shape.of(rows, dim));
        g.add(new Op.Add(x, attOut, h));

        Value hn = g.value(p + "ffn_in", DType.F32, Shape.of(rows, dim));
        g.add(new Op.RmsNorm(h, w.ffnNorm(), config.rmsEps(), hn));
        Value gate = g.value(p + "ffn_gate", DType.F32, Shape.of(rows, config.hiddenDim()));
        Value up = g.value(p + "ffn_up", DType.F32, Shape.of(rows, config.hiddenDim()));
        g.add(new Op.Linear(hn, w.wGate(), gate));
        g.add(new Op.Linear(hn, w.wUp(), up));
        Value act = g.value(p + "ffn_act", DType.F32, Shape.of(rows, config.hiddenDim()));
        g.add(new Op.SiluMul(gate, up, act));
        Value down = g.value(p + "ffn_down", DType.F32, Shape.of(rows, dim));
        g.add(new Op.Linear(act, w.wDown(), down));
        Value out = g.value(p + "out", DType.F32, Shape.of(rows, dim));
        g.add(new Op.Add(h, down, out));
        return out;
    }
}
