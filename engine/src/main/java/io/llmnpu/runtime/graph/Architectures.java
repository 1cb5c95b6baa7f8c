package io.llmnpu.runtime.graph;

import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelFamily;
import io.llmnpu.runtime.model.ModelWeights;

/**
 * From a model to the builder of its graphs: {@link ModelFamily} maps {@code general.architecture} to a
 * family, and each family has one builder here. Adding a family means a {@link ModelFamily} entry (which
 * tensors its blocks have) and a small builder over {@link TransformerBlocks}.
 */
public final class Architectures {
    private Architectures() {
    }

    /** The graph builder for this model's family. */
    public static ModelGraphBuilder graphs(ModelConfig config, ModelWeights weights) {
        return switch (ModelFamily.of(config)) {
            case LLAMA -> new LlamaGraphBuilder(config, weights);
            case GEMMA -> new GemmaGraphBuilder(config, weights);
            case GEMMA2 -> new Gemma2GraphBuilder(config, weights);
            case PHI2 -> new Phi2GraphBuilder(config, weights);
        };
    }
}
