package io.llmnpu.runtime.graph;

import io.llmnpu.api.graph.Subgraph;

/**
 * Builds a model's forward pass as static-shape graphs over the core-api op vocabulary: the body
 * (embedding, every transformer block, final normalisation) and the head (LM head). The head is separate
 * because only the last real row of a prompt chunk needs logits, and which row that is depends on the
 * padding. Every matrix product is a {@code Linear} op, so graph rewrites (such as the INT8 NPU path)
 * apply to every architecture alike. {@link Architectures} picks the builder of a model's family.
 */
public interface ModelGraphBuilder {
    /** Names of the body graph's inputs and outputs, in the order the graph lists them. */
    String TOKENS = "tokens";
    String POSITIONS = "positions";
    String HIDDEN = "hidden";
    String LOGITS = "logits";

    static String keyCacheName(int layer) {
        return "cache_k." + layer;
    }

    static String valueCacheName(int layer) {
        return "cache_v." + layer;
    }

    /**
     * Body graph for {@code rows} tokens against a KV cache of {@code cacheRows} positions.
     * Inputs: tokens I32[rows], positions I32[rows] (negative = padding), then per layer the key and
     * value caches [cacheRows, kvDim]. Output: the final-normed hidden state [rows, dim] named
     * {@link #HIDDEN}.
     */
    Subgraph body(int rows, int cacheRows);

    /** Head graph: {@code rows} final-normed rows [rows, dim] in ({@link #HIDDEN}), logits [rows, vocab] out ({@link #LOGITS}). */
    Subgraph head(int rows);

    /** The head for one row, as prompt chunks and decode steps need it. */
    default Subgraph head() {
        return head(1);
    }
}
