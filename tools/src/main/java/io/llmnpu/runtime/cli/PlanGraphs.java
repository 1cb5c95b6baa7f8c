package io.llmnpu.runtime.cli;

import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.runtime.engine.ChunkPlanner;
import io.llmnpu.runtime.graph.Architectures;
import io.llmnpu.runtime.graph.ModelGraphBuilder;
import io.llmnpu.runtime.quant.Int8WeightStore;
import io.llmnpu.runtime.quant.NpuRewrite;
import io.llmnpu.runtime.quant.QuantConfig;
import io.llmnpu.runtime.quant.QuantMode;
import io.llmnpu.runtime.synth.ModelShape;
import io.llmnpu.runtime.synth.ShapeOnlyModel;
import io.llmnpu.scheduler.PrefillPlanner;
import java.util.List;
import java.util.Locale;

/**
 * The graphs a real run of a model shape would execute, built over shape-only weights for planning and
 * simulation: the same float graphs, the same NPU rewrite (with a made-up calibration) and the same
 * chunking as the engine, so a simulated plan and a real run share one DAG model.
 */
final class PlanGraphs {
    private final ModelShape shape;
    private final ShapeOnlyModel model;
    private final ModelGraphBuilder source;
    private final NpuRewrite rewrite;

    /**
     * @param weights dtype of the float weight matrices (F16 as phones run them, or the file's)
     * @param mode    INT8 configuration of the NPU path
     */
    PlanGraphs(ModelShape shape, DType weights, QuantMode mode) {
        this.shape = shape;
        this.model = ShapeOnlyModel.of(shape, weights);
        this.source = Architectures.graphs(model.config(), model.weights());
        this.rewrite = new NpuRewrite(model.config(), model.weights(), model.calibration(),
                QuantConfig.npuPath(mode), Int8WeightStore.shapesOnly());
    }

    /** A prompt of {@code tokens} in chunks of {@code chunk}: float, or rewritten for the NPU. */
    PrefillPlanner.Prefill prefill(int tokens, int chunk, boolean npu) {
        List<ChunkPlanner.Chunk> chunks = new ChunkPlanner(chunk).plan(tokens);
        int rows = chunks.getFirst().rows();
        int cacheRows = rows * chunks.size();
        Subgraph body = source.body(rows, cacheRows);
        return new PrefillPlanner.Prefill(npu ? rewrite.rewrite(body) : body, source.head(1), tokens, rows,
                chunks.size(), describe(npu));
    }

    /** One decode step at a context of {@code contextRows} positions. */
    Subgraph decodeBody(int contextRows) {
        return source.body(1, contextRows);
    }

    Subgraph head() {
        return source.head(1);
    }

    String describe(boolean npu) {
        var c = model.config();
        return String.format(Locale.ROOT, "%s shape (dim %d, ffn %d, %d layers, %d/%d heads, vocab %d), %s",
                shape.name(), c.dim(), c.hiddenDim(), c.layers(), c.heads(), c.kvHeads(), c.vocabSize(),
                npu ? rewrite.name() : "float");
    }
}
