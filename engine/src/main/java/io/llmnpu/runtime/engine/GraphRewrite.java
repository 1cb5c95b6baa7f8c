package io.llmnpu.runtime.engine;

import io.llmnpu.runtime.graph.ModelGraphBuilder;
import io.llmnpu.api.graph.Subgraph;

/**
 * Turns a float body graph into the graph an NPU path runs (INT8 linear layers, their outlier shadows
 * and merges), keeping the body's inputs, outputs and the names of the values between blocks. The
 * engine applies it to prefill bodies only and sees nothing but the resulting graph.
 */
public interface GraphRewrite {

    /** The rewritten body; {@code body} is a graph of {@link ModelGraphBuilder#body}. */
    Subgraph rewrite(Subgraph body);

    /** A short name for logs and reports, e.g. {@code w8a8-shadow}. */
    String name();
}
