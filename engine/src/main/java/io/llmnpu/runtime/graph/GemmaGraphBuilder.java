package io.llmnpu.runtime.graph;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.runtime.model.LayerWeights;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelWeights;

/**
 * Gemma: the Llama block with GeGLU instead of SwiGLU, and embeddings scaled by sqrt(dim) before the
 * first block. (GGUF files store Gemma's RMSNorm weights with its +1 offset already added.)
 */
public class GemmaGraphBuilder extends DecoderGraphBuilder {

    public GemmaGraphBuilder(ModelConfig config, ModelWeights weights) {
        super(config, weights);
    }

    @Override
    protected Value embed(TransformerBlocks b, SubgraphBuilder g, Value tokens) {
        return b.scale(super.embed(b, g, tokens), (float) Math.sqrt(config.dim()), "embedding_scaled");
    }

    /** The attention of layer {@code l}: Gemma scales scores by 1/sqrt(headDim) and has no window or cap. */
    protected TransformerBlocks.AttentionOptions attention(int l) {
        return new TransformerBlocks.AttentionOptions(Op.Attention.defaultScale(config.headDim()), 0f, 0, null);
    }

    /** What becomes of the attention output before the residual add: nothing here; Gemma 2 norms it. */
    protected Value afterAttention(TransformerBlocks b, int l, LayerWeights w, Value attnOut) {
        return attnOut;
    }

    /** What becomes of the FFN output before the residual add: nothing here; Gemma 2 norms it. */
    protected Value afterFfn(TransformerBlocks b, int l, LayerWeights w, Value down) {
        return down;
    }

    @Override
    protected Value block(TransformerBlocks b, int l, LayerWeights w, Value x, Value positions, Value kCache,
                          Value vCache) {
        String p = TransformerBlocks.prefix(l);
        Value xn = b.rmsNorm(x, w.attnNorm(), p + "attn_in");
        Value attnOut = b.attention(l, xn, w, positions, kCache, vCache, attention(l));
        Value h = b.add(x, afterAttention(b, l, w, attnOut), p + "resid_attn");
        Value hn = b.rmsNorm(h, w.ffnNorm(), p + "ffn_in");
        Value down = b.gatedFfn(l, hn, w, TransformerBlocks.Gate.GELU);
        return b.add(h, afterFfn(b, l, w, down), p + "out");
    }
}
