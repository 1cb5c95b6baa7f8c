package io.llmnpu.runtime.model;

import io.llmnpu.api.tensor.Tensor;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * All weights of a model, as views of the mapped file.
 *
 * @param tokenEmbedding [vocab, dim]
 * @param layers         one entry per transformer block
 * @param finalNorm      normalisation before the LM head, F32 [dim]
 * @param output         LM head [vocab, dim]; the same tensor as tokenEmbedding when tied
 * @param extra          the model-level tensors some families add, by GGUF name:
 *                       {@value #OUTPUT_NORM_BIAS}, {@value #OUTPUT_BIAS}, {@value #ROPE_FREQS}
 */
public record ModelWeights(Tensor tokenEmbedding, List<LayerWeights> layers, Tensor finalNorm, Tensor output,
                           Map<String, Tensor> extra) {
    public static final String OUTPUT_NORM_BIAS = "output_norm.bias";
    public static final String OUTPUT_BIAS = "output.bias";
    /** RoPE frequency factors (Llama 3.1 and later): F32 [rotaryDims / 2]. */
    public static final String ROPE_FREQS = "rope_freqs.weight";

    public ModelWeights {
        layers = List.copyOf(layers);
        extra = Map.copyOf(extra);
    }

    /** Weights with no model-level extras (Llama). */
    public ModelWeights(Tensor tokenEmbedding, List<LayerWeights> layers, Tensor finalNorm, Tensor output) {
        this(tokenEmbedding, layers, finalNorm, output, Map.of());
    }

    public boolean tiedOutput() {
        return output == tokenEmbedding;
    }

    /** A model-level extra tensor, or empty. */
    public Optional<Tensor> find(String name) {
        return Optional.ofNullable(extra.get(name));
    }
}
