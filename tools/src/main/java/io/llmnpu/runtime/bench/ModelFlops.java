package io.llmnpu.runtime.bench;

import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelFamily;

/**
 * Floating-point operations of a transformer forward pass, counted from the configuration: two per
 * multiply-add of every matrix product (the projections, the feed-forward network, attention scores
 * and the weighted sum of values over the causal context), and the LM head only for the rows whose
 * logits are computed. Norms, RoPE, softmax and activations are left out: they are a fraction of a
 * percent at real model sizes. Padding rows are not counted; this is the useful work.
 */
public final class ModelFlops {
    private ModelFlops() {
    }

    /** Weights of one block's matrices, i.e. multiply-adds per token (Phi-2's MLP has no gate). */
    public static long blockMatmulWeights(ModelConfig c) {
        long d = c.dim();
        int ffnMatrices = ModelFamily.architecture(c.architecture()).map(a -> a.family() == ModelFamily.PHI2)
                .orElse(false) ? 2 : 3;
        return d * c.qDim() + 2 * d * c.kvDim() + (long) c.qDim() * d + ffnMatrices * d * c.hiddenDim();
    }

    /** FLOPs of one token at position {@code pos} through every block (no LM head). */
    public static double tokenFlops(ModelConfig c, long pos) {
        double matmul = 2.0 * blockMatmulWeights(c);
        double attention = 4.0 * c.qDim() * (pos + 1); // q.k over pos+1 keys, then the weighted sum of values
        return c.layers() * (matmul + attention);
    }

    /** FLOPs of the LM head for one row. */
    public static double headFlops(ModelConfig c) {
        return 2.0 * c.dim() * c.vocabSize();
    }

    /** Prefill of {@code tokens} positions from an empty cache, with logits for the last one only. */
    public static double prefill(ModelConfig c, int tokens) {
        double matmul = 2.0 * blockMatmulWeights(c) * c.layers() * tokens;
        double positions = (double) tokens * (tokens + 1) / 2; // sum over positions of the keys attended
        double attention = 4.0 * c.qDim() * c.layers() * positions;
        return matmul + attention + headFlops(c);
    }

    /** Decoding {@code tokens} tokens one at a time from an empty cache, with logits for each. */
    public static double decode(ModelConfig c, int tokens) {
        return prefill(c, tokens) - headFlops(c) + tokens * headFlops(c);
    }
}
