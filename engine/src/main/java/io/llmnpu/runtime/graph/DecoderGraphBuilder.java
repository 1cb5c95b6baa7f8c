package io.llmnpu.runtime.graph;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.LayerWeights;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelWeights;

/**
 * The frame every decoder-only family shares: token embedding, one block per layer, a final
 * normalisation (the body), and the LM head with its bias and logit soft-capping where the model has
 * them. A family says how its embedding, blocks and final norm look.
 */
public abstract class DecoderGraphBuilder implements ModelGraphBuilder {
    protected final ModelConfig config;
    protected final ModelWeights weights;

    protected DecoderGraphBuilder(ModelConfig config, ModelWeights weights) {
        this.config = config;
        this.weights = weights;
    }

    /** The layer's block: from the residual stream {@code x} to the next one. */
    protected abstract Value block(TransformerBlocks b, int l, LayerWeights w, Value x, Value positions,
                                   Value kCache, Value vCache);

    /** The embedded tokens, the input of the first block. */
    protected Value embed(TransformerBlocks b, SubgraphBuilder g, Value tokens) {
        Value x = b.value("embedding", config.dim());
        g.add(new Op.Embedding(tokens, weights.tokenEmbedding(), x));
        return x;
    }

    /** The final normalisation into the body's output {@link #HIDDEN}. */
    protected Value finalNorm(TransformerBlocks b, Value x) {
        return b.rmsNorm(x, weights.finalNorm(), HIDDEN);
    }

    /** A short name for graphs, e.g. {@code llama}. */
    protected String graphName() {
        return config.architecture();
    }

    @Override
    public Subgraph body(int rows, int cacheRows) {
        SubgraphBuilder g = new SubgraphBuilder(graphName() + "-body-" + rows);
        TransformerBlocks b = new TransformerBlocks(g, config, rows);
        Value tokens = g.input(TOKENS, DType.I32, Shape.of(rows));
        Value positions = g.input(POSITIONS, DType.I32, Shape.of(rows));
        Value[] kCaches = new Value[config.layers()];
        Value[] vCaches = new Value[config.layers()];
        Shape cacheShape = Shape.of(cacheRows, config.kvDim());
        for (int l = 0; l < config.layers(); l++) {
            kCaches[l] = g.input(ModelGraphBuilder.keyCacheName(l), DType.F32, cacheShape);
            vCaches[l] = g.input(ModelGraphBuilder.valueCacheName(l), DType.F32, cacheShape);
        }
        Value x = embed(b, g, tokens);
        for (int l = 0; l < config.layers(); l++) {
            x = block(b, l, weights.layers().get(l), x, positions, kCaches[l], vCaches[l]);
        }
        g.output(finalNorm(b, x));
        return g.build();
    }

    @Override
    public Subgraph head(int rows) {
        SubgraphBuilder g = new SubgraphBuilder(graphName() + "-head-" + rows);
        Value in = g.input(HIDDEN, DType.F32, Shape.of(rows, config.dim()));
        Tensor bias = weights.find(ModelWeights.OUTPUT_BIAS).orElse(null);
        boolean capped = config.finalSoftCap() > 0;
        Shape shape = Shape.of(rows, config.vocabSize());
        Value logits = g.value(bias == null && !capped ? LOGITS : "logits.linear", DType.F32, shape);
        g.add(new Op.Linear(in, weights.output(), logits));
        if (bias != null) {
            Value biased = g.value(capped ? "logits.biased" : LOGITS, DType.F32, shape);
            g.add(new Op.AddBias(logits, bias, biased));
            logits = biased;
        }
        if (capped) {
            Value out = g.value(LOGITS, DType.F32, shape);
            g.add(new Op.SoftCap(logits, config.finalSoftCap(), out));
            logits = out;
        }
        g.output(logits);
        return g.build();
    }
}
