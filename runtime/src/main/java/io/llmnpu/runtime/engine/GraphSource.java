package io.llmnpu.runtime.engine;

import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelWeights;

/**
 * A model's forward pass as float graphs over the op vocabulary: the entry point an architecture
 * implements. The engine chunks prompts, rewrites the body for an NPU when one is used (see
 * {@link GraphRewrite}), places the graphs on devices and runs them; an architecture never deals with
 * devices or INT8.
 *
 * <p>Conventions the engine relies on (the names are in {@link LlamaGraphBuilder}):
 * <ul>
 *   <li>body inputs: {@code tokens} I32[rows], {@code positions} I32[rows] (negative = padding), then
 *       the KV caches named {@code cache_k.L} / {@code cache_v.L}, [cacheRows, kvDim] F32, which ops
 *       update in place; body output: {@code hidden}, the final-normed state [rows, dim];</li>
 *   <li>head input {@code hidden} [rows, dim], output {@code logits} [rows, vocab];</li>
 *   <li>every matrix product with a weight is an {@code Op.Linear}, and the value names of a block
 *       start with {@code blk.L.} (the NPU rewrite finds calibrated linear inputs by these names).</li>
 * </ul>
 */
public interface GraphSource {

    /** The body for {@code rows} token rows against KV caches of {@code cacheRows} positions. */
    Subgraph body(int rows, int cacheRows);

    /** The LM head over {@code rows} final-normed rows. */
    Subgraph head(int rows);

    /** The graphs of a model of {@code config}'s architecture. */
    static GraphSource of(ModelConfig config, ModelWeights weights) {
        return new LlamaGraphBuilder(config, weights);
    }
}
