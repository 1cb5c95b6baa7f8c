package io.llmnpu.runtime.graph;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Value;
import io.llmnpu.runtime.model.LayerWeights;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelWeights;

/**
 * The Llama block, pre-norm and sequential: {@code h = x + attention(rmsnorm(x))},
 * {@code out = h + swiglu(rmsnorm(h))}. It serves every family of that shape: Llama 1/2/3 (RoPE
 * frequency factors from {@code rope_freqs.weight}), Mistral (a sliding window if the file states
 * one), Qwen2 (q/k/v biases, NeoX RoPE), Phi-3 (fused q/k/v and gate/up, split when the file is read),
 * and the other Llama-shaped GGUF families. What tells them apart is in the weights (biases present or
 * not) and the config (RoPE pairing, window).
 */
public final class LlamaGraphBuilder extends DecoderGraphBuilder {
    private final TransformerBlocks.AttentionOptions attention;

    public LlamaGraphBuilder(ModelConfig config, ModelWeights weights) {
        super(config, weights);
        this.attention = new TransformerBlocks.AttentionOptions(Op.Attention.defaultScale(config.headDim()), 0f,
                config.slidingWindow(), weights.find(ModelWeights.ROPE_FREQS).orElse(null));
    }

    @Override
    protected Value block(TransformerBlocks b, int l, LayerWeights w, Value x, Value positions, Value kCache,
                          Value vCache) {
        String p = TransformerBlocks.prefix(l);
        Value xn = b.rmsNorm(x, w.attnNorm(), p + "attn_in");
        Value attnOut = b.attention(l, xn, w, positions, kCache, vCache, attention);
        Value h = b.add(x, attnOut, p + "resid_attn");
        Value hn = b.rmsNorm(h, w.ffnNorm(), p + "ffn_in");
        Value down = b.gatedFfn(l, hn, w, TransformerBlocks.Gate.SILU);
        return b.add(h, down, p + "out");
    }
}
