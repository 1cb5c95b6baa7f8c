package io.llmnpu.runtime.graph;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Value;
import io.llmnpu.runtime.model.LayerWeights;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelWeights;

/**
 * Phi-2: one LayerNorm (with bias) feeds attention and the FFN in parallel,
 * {@code out = x + attention(ln(x)) + mlp(ln(x))}; q/k/v (fused in the file, split when read), the
 * output projection and both MLP layers have biases; the MLP is GELU; RoPE is NeoX-style on the first
 * {@code rope.dimension_count} dimensions of each head; the final LayerNorm and the LM head have
 * biases too.
 */
public final class Phi2GraphBuilder extends DecoderGraphBuilder {
    private final TransformerBlocks.AttentionOptions attention;

    public Phi2GraphBuilder(ModelConfig config, ModelWeights weights) {
        super(config, weights);
        this.attention = new TransformerBlocks.AttentionOptions(Op.Attention.defaultScale(config.headDim()), 0f,
                0, null);
    }

    @Override
    protected Value block(TransformerBlocks b, int l, LayerWeights w, Value x, Value positions, Value kCache,
                          Value vCache) {
        String p = TransformerBlocks.prefix(l);
        Value xn = b.layerNorm(x, w.attnNorm(), w.get(LayerWeights.ATTN_NORM_BIAS), p + "attn_in");
        Value attnOut = b.attention(l, xn, w, positions, kCache, vCache, attention);
        Value ffnOut = b.geluFfn(l, xn, w);
        Value both = b.add(attnOut, ffnOut, p + "attn_ffn");
        return b.add(x, both, p + "out");
    }

    @Override
    protected Value finalNorm(TransformerBlocks b, Value x) {
        return b.layerNorm(x, weights.finalNorm(), weights.find(ModelWeights.OUTPUT_NORM_BIAS).orElse(null), HIDDEN);
    }
}
