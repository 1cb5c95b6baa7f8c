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
    protected Value afterAttention(TransformerBlocks b, int l, LayerWeights w, Value attnOut) {
        return b.rmsNorm(attnOut, w.get(LayerWeights.POST_ATTN_NORM), TransformerBlocks.prefix(l) + "attn_post_norm");
    }

    @Override
    protected Value afterFfn(TransformerBlocks b, int l, LayerWeights w, Value down) {
        return b.rmsNorm(down, w.get(LayerWeights.POST_FFN_NORM), TransformerBlocks.prefix(l) + "ffn_post_norm");
    }
}
