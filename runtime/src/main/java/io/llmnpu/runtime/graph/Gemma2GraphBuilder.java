package io.llmnpu.runtime.graph;

import io.llmnpu.api.graph.Value;
import io.llmnpu.runtime.model.LayerWeights;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelWeights;

/**
 * Gemma 2: Gemma with a second RMSNorm after attention and after the FFN (before each residual add),
 * attention scores soft-capped ({@code attn_logit_softcapping}), a sliding window on every other layer
 * (layers 0, 2, 4, ...), and the logits soft-capped ({@code final_logit_softcapping}, in the head).
 * Queries are scaled by 1/sqrt(headDim), except in the 27B model (46 layers), which uses
 * 1/sqrt(dim / heads), as its reference implementation does.
 */
public final class Gemma2GraphBuilder extends GemmaGraphBuilder {
    /** Layer count of Gemma 2 27B, whose query scale follows dim / heads instead of the head size. */
    private static final int LAYERS_27B = 46;

    public Gemma2GraphBuilder(ModelConfig config, ModelWeights weights) {
        super(config, weights);
    }

    @Override
    protected TransformerBlocks.AttentionOptions attention(int l) {
        int scaleDim = config.layers() == LAYERS_27B ? config.dim() / config.heads() : config.headDim();
        return new TransformerBlocks.AttentionOptions((float) (1.0 / Math.sqrt(scaleDim)), config.attnSoftCap(),
                l % 2 == 0 ? config.slidingWindow() : 0, null);
    }

    @Override
    protected Value block(TransformerBlocks b, int l, LayerWeights w, Value x, Value positions, Value kCache,
                          Value vCache) {
        String p = TransformerBlocks.prefix(l);
        Value xn = b.rmsNorm(x, w.attnNorm(), p + "attn_in");
        Value attnOut = b.attention(l, xn, w, positions, kCache, vCache, attention(l));
        Value attnNormed = b.rmsNorm(attnOut, w.get(LayerWeights.POST_ATTN_NORM), p + "attn_post_norm");
        Value h = b.add(x, attnNormed, p + "resid_attn");
        Value hn = b.rmsNorm(h, w.ffnNorm(), p + "ffn_in");
        Value down = b.gatedFfn(l, hn, w, TransformerBlocks.Gate.GELU);
        Value downNormed = b.rmsNorm(down, w.get(LayerWeights.POST_FFN_NORM), p + "ffn_post_norm");
        return b.add(h, downNormed, p + "out");
    }
}
