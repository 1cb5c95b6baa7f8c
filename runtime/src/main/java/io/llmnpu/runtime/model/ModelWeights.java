package io.llmnpu.runtime.model;

import io.llmnpu.api.tensor.Tensor;
import java.util.List;

/**
 * All weights of a model, as views of the mapped file.
 *
 * @param tokenEmbedding [vocab, dim]
 * @param layers         one entry per transformer block
 * @param finalNorm      RMSNorm before the LM head, F32 [dim]
 * @param output         LM head [vocab, dim]; the same tensor as tokenEmbedding when tied
 */
public record ModelWeights(Tensor tokenEmbedding, List<LayerWeights> layers, Tensor finalNorm, Tensor output) {

    public ModelWeights {
        layers = List.copyOf(layers);
    }

    public boolean tiedOutput() {
        return output == tokenEmbedding;
    }
}
