package io.llmnpu.runtime.model;

import io.llmnpu.api.graph.RopeStyle;

/**
 * Hyper-parameters of a decoder-only transformer (Llama, Qwen2, Gemma, Phi and their relatives),
 * whatever file they came from. What a family does differently in its graph follows from
 * {@code architecture}; the numbers it needs are here.
 *
 * @param architecture  the family name as the file states it (e.g. {@code llama}, {@code qwen2})
 * @param dim           width of the residual stream
 * @param hiddenDim     inner width of the feed-forward network
 * @param layers        number of transformer blocks
 * @param heads         query heads
 * @param kvHeads       key/value heads (fewer than {@code heads} with grouped-query attention)
 * @param headDim       width of one head (usually dim / heads)
 * @param vocabSize     number of tokens
 * @param contextLength longest sequence the model was trained for; the KV cache holds this many rows
 * @param rotaryDims    leading dimensions of each head that RoPE rotates (usually headDim)
 * @param ropeTheta     RoPE base frequency
 * @param ropeStyle     how RoPE pairs dimensions
 * @param rmsEps        epsilon of the normalisation (RMSNorm, or LayerNorm in families that use it)
 * @param slidingWindow positions a query sees in the layers with sliding-window attention (which layers
 *                      those are is the family's rule); 0 for none, which a window as long as the
 *                      context is too (Phi-3 files state one)
 * @param attnSoftCap   attention scores are soft-capped to (-cap, cap) before the softmax; 0 for none
 * @param finalSoftCap  logits are soft-capped to (-cap, cap); 0 for none
 */
public record ModelConfig(
        String architecture,
        int dim,
        int hiddenDim,
        int layers,
        int heads,
        int kvHeads,
        int headDim,
        int vocabSize,
        int contextLength,
        int rotaryDims,
        float ropeTheta,
        RopeStyle ropeStyle,
        float rmsEps,
        int slidingWindow,
        float attnSoftCap,
        float finalSoftCap) {

    /** Upper bound on any single dimension; far above real models, low enough to stop absurd headers early. */
    public static final int MAX_DIMENSION = 1 << 24;

    public ModelConfig {
        positive("dim", dim);
        positive("hidden_dim", hiddenDim);
        positive("layers", layers);
        positive("heads", heads);
        positive("kv_heads", kvHeads);
        positive("head_dim", headDim);
        positive("vocab_size", vocabSize);
        positive("context_length", contextLength);
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("heads (" + heads + ") must be a multiple of kv_heads (" + kvHeads + ")");
        }
        if (rotaryDims <= 0 || rotaryDims > headDim || rotaryDims % 2 != 0) {
            throw new IllegalArgumentException("rotary dims " + rotaryDims + " must be even and in 1.." + headDim);
        }
        if (!(ropeTheta > 0) || !(rmsEps > 0)) {
            throw new IllegalArgumentException("rope theta and rms epsilon must be positive");
        }
        if (slidingWindow < 0) {
            throw new IllegalArgumentException("sliding window " + slidingWindow + " must be 0 (none) or positive");
        }
        if (slidingWindow >= contextLength) {
            slidingWindow = 0;
        }
        if (!(attnSoftCap >= 0) || !(finalSoftCap >= 0) || !Float.isFinite(attnSoftCap) || !Float.isFinite(finalSoftCap)) {
            throw new IllegalArgumentException("soft caps must be 0 (none) or positive and finite, got attention "
                    + attnSoftCap + ", final " + finalSoftCap);
        }
    }

    /** A configuration without sliding windows or soft-capping (Llama, Qwen2, Phi and most others). */
    public ModelConfig(String architecture, int dim, int hiddenDim, int layers, int heads, int kvHeads, int headDim,
                       int vocabSize, int contextLength, int rotaryDims, float ropeTheta, RopeStyle ropeStyle,
                       float rmsEps) {
        this(architecture, dim, hiddenDim, layers, heads, kvHeads, headDim, vocabSize, contextLength, rotaryDims,
                ropeTheta, ropeStyle, rmsEps, 0, 0f, 0f);
    }

    private static void positive(String what, int v) {
        if (v <= 0 || v > MAX_DIMENSION) {
            throw new IllegalArgumentException(what + " = " + v + " is outside 1.." + MAX_DIMENSION);
        }
    }

    /** Width of all query heads together. */
    public int qDim() {
        return heads * headDim;
    }

    /** Width of all key (or value) heads together. */
    public int kvDim() {
        return kvHeads * headDim;
    }
}
