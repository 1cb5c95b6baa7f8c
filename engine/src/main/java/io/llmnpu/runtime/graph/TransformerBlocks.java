package io.llmnpu.runtime.graph;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.LayerWeights;
import io.llmnpu.runtime.model.ModelConfig;

/**
 * The building blocks every architecture's graph is made of, written once: normalisations, (biased)
 * linear layers, the attention block and the feed-forward variants. Each call adds ops to one graph of
 * {@code rows} token rows and returns the value it produced. Value names follow one scheme for every
 * family ({@code blk.L.attn_in}, {@code blk.L.q}, {@code blk.L.attn}, {@code blk.L.ffn_in},
 * {@code blk.L.ffn_act}, ...), so that calibration and graph rewrites find the inputs of the linear
 * layers by name whatever the architecture.
 */
public final class TransformerBlocks {

    /** How one layer's attention is computed beyond its weights. */
    public record AttentionOptions(float queryScale, float softCap, int window, Tensor ropeFactors) {
    }

    private final SubgraphBuilder g;
    private final ModelConfig config;
    private final int rows;

    public TransformerBlocks(SubgraphBuilder g, ModelConfig config, int rows) {
        this.g = g;
        this.config = config;
        this.rows = rows;
    }

    public ModelConfig config() {
        return config;
    }

    /** A new F32 [rows, width] value. */
    public Value value(String name, int width) {
        return g.value(name, DType.F32, Shape.of(rows, width));
    }

    public static String prefix(int layer) {
        return "blk." + layer + ".";
    }

    /** RMSNorm of x. */
    public Value rmsNorm(Value x, Tensor weight, String name) {
        Value out = value(name, x.shape().cols());
        g.add(new Op.RmsNorm(x, weight, config.rmsEps(), out));
        return out;
    }

    /** LayerNorm of x, with {@code bias} if it is not null. */
    public Value layerNorm(Value x, Tensor weight, Tensor bias, String name) {
        Value out = value(name, x.shape().cols());
        g.add(new Op.LayerNorm(x, weight, bias, config.rmsEps(), out));
        return out;
    }

    /**
     * weight · x into {@code name}, then + bias if there is one (into {@code name.biased}): the Linear
     * stays a plain matrix product so rewrites of linear layers see it unchanged.
     */
    public Value linear(Value x, Tensor weight, Tensor bias, String name) {
        Value y = value(name, weight.shape().dim(0));
        g.add(new Op.Linear(x, weight, y));
        if (bias == null) {
            return y;
        }
        Value biased = value(name + ".biased", y.shape().cols());
        g.add(new Op.AddBias(y, bias, biased));
        return biased;
    }

    public Value add(Value a, Value b, String name) {
        Value out = value(name, a.shape().cols());
        g.add(new Op.Add(a, b, out));
        return out;
    }

    /**
     * Self-attention of layer {@code l} on the normed input {@code xn}: q, k, v projections (with their
     * biases if the block has them), RoPE on q and k, causal attention over the layer's KV cache, and
     * the output projection (with its bias). Returns the projected output {@code blk.L.attn_out}.
     */
    public Value attention(int l, Value xn, LayerWeights w, Value positions, Value kCache, Value vCache,
                           AttentionOptions options) {
        String p = prefix(l);
        Value q = linear(xn, w.wq(), w.find(LayerWeights.BQ).orElse(null), p + "q");
        Value k = linear(xn, w.wk(), w.find(LayerWeights.BK).orElse(null), p + "k");
        Value v = linear(xn, w.wv(), w.find(LayerWeights.BV).orElse(null), p + "v");
        Value qr = value(p + "q_rope", config.qDim());
        Value kr = value(p + "k_rope", config.kvDim());
        g.add(new Op.Rope(q, positions, config.headDim(), config.rotaryDims(), config.ropeTheta(), config.ropeStyle(),
                options.ropeFactors(), qr));
        g.add(new Op.Rope(k, positions, config.headDim(), config.rotaryDims(), config.ropeTheta(), config.ropeStyle(),
                options.ropeFactors(), kr));
        Value att = value(p + "attn", config.qDim());
        g.add(new Op.Attention(qr, kr, v, positions, kCache, vCache, config.heads(), config.kvHeads(),
                config.headDim(), options.queryScale(), options.softCap(), options.window(), att));
        return linear(att, w.wo(), w.find(LayerWeights.BO).orElse(null), p + "attn_out");
    }

    /** The gated feed-forward networks: silu(gate) * up (SwiGLU) or gelu(gate) * up (GeGLU). */
    public enum Gate { SILU, GELU }

    /** down(act(gate(x)) * up(x)) on the normed input {@code xn}; returns {@code blk.L.ffn_down}. */
    public Value gatedFfn(int l, Value xn, LayerWeights w, Gate gate) {
        String p = prefix(l);
        Value gated = linear(xn, w.wGate(), w.find(LayerWeights.FFN_GATE_BIAS).orElse(null), p + "ffn_gate");
        Value up = linear(xn, w.wUp(), w.find(LayerWeights.FFN_UP_BIAS).orElse(null), p + "ffn_up");
        Value act = value(p + "ffn_act", config.hiddenDim());
        g.add(switch (gate) {
            case SILU -> new Op.SiluMul(gated, up, act);
            case GELU -> new Op.GeluMul(gated, up, act);
        });
        return linear(act, w.wDown(), w.find(LayerWeights.FFN_DOWN_BIAS).orElse(null), p + "ffn_down");
    }

    /** down(gelu(up(x))), each with its bias: the plain MLP of GPT-2 and Phi-2; returns {@code blk.L.ffn_down}. */
    public Value geluFfn(int l, Value xn, LayerWeights w) {
        String p = prefix(l);
        Value up = linear(xn, w.wUp(), w.find(LayerWeights.FFN_UP_BIAS).orElse(null), p + "ffn_up");
        Value act = value(p + "ffn_act", config.hiddenDim());
        g.add(new Op.Gelu(up, act));
        return linear(act, w.wDown(), w.find(LayerWeights.FFN_DOWN_BIAS).orElse(null), p + "ffn_down");
    }

    /** x * factor. */
    public Value scale(Value x, float factor, String name) {
        Value out = value(name, x.shape().cols());
        g.add(new Op.Scale(x, factor, out));
        return out;
    }
}
