package io.llmnpu.scheduler;

import java.util.Arrays;

/**
 * The task graph of one chunked prefill, cut as llm.npu cuts it. For every chunk and layer:
 * {@link TaskKind#QKV} (NPU), {@link TaskKind#ATTENTION} (CPU/GPU), {@link TaskKind#OUTPUT_FFN}
 * (NPU), and, in layers that keep it, a float shadow task beside each of the two NPU tasks; a final
 * {@link TaskKind#LOGITS} task produces the first token's logits.
 *
 * <p>Dependencies are the true data dependencies: within a chunk each subgraph waits for the one
 * before it, layer after layer (a shadow task starts with its NPU task and whatever consumes the
 * NPU task's output also waits for the shadow's correction). The attention of chunk i at layer l
 * also needs the keys and values of every earlier chunk at layer l, so it waits for the QKV (and
 * QKV shadow) tasks of layer l of chunks 0..i-1. Nothing else orders the chunks: chunk i+1 may run
 * its layer l while chunk i is still at layer l+5.
 *
 * <p>Every chunk runs a static graph of {@link #chunkRows()} rows (the last one padded and masked);
 * a prompt shorter than one chunk uses the smallest power-of-two bucket of at least 16 rows that
 * holds it, as the runtime's chunk planner does. Attention of chunk i reads the keys of all rows
 * up to the end of chunk i, padding included.
 *
 * <p>Workloads count multiply-adds as two operations, INT8 weights and NPU activations as one byte,
 * float activations and the KV cache as FP16 (two bytes). Embedding lookup and the norms are
 * omitted: they are a rounding error next to the projections. In a fused O+FFN subgraph the
 * outliers of the inner linear inputs (gate/up, down) would strictly have to be corrected inside
 * the subgraph; the model folds them into one shadow task concurrent with the whole subgraph, which
 * keeps their cost and the NPU's freedom to run uninterrupted.
 */
public final class PrefillDag {
    /** Smallest static graph a short prompt gets, as in the runtime's chunk planner. */
    public static final int MIN_BUCKET = 16;
    private static final int FP16 = 2;
    private static final int INT8 = 1;

    private final ModelShape shape;
    private final int promptTokens;
    private final int chunkRows;
    private final int chunks;
    private final ShadowOutliers shadow;
    private final TaskGraph graph;
    private final int[] index;   // (chunk, layer, kind) -> task id, -1 when absent

    private PrefillDag(ModelShape shape, int promptTokens, int chunkSize, ShadowOutliers shadow) {
        if (promptTokens < 1) {
            throw new IllegalArgumentException("prefill needs at least one prompt token, got " + promptTokens);
        }
        if (chunkSize < 1) {
            throw new IllegalArgumentException("chunk size must be positive, got " + chunkSize);
        }
        this.shape = shape;
        this.promptTokens = promptTokens;
        this.shadow = shadow;
        this.chunkRows = promptTokens >= chunkSize ? chunkSize : bucket(promptTokens, chunkSize);
        this.chunks = (promptTokens + chunkRows - 1) / chunkRows;
        this.index = new int[chunks * shape.layers() * TaskKind.values().length];
        Arrays.fill(index, -1);
        this.graph = buildGraph();
    }

    /**
     * Builds the prefill graph of {@code promptTokens} tokens in chunks of {@code chunkSize}.
     *
     * @throws IllegalArgumentException for a non-positive prompt length or chunk size
     */
    public static PrefillDag build(ModelShape shape, int promptTokens, int chunkSize, ShadowOutliers shadow) {
        return new PrefillDag(shape, promptTokens, chunkSize, shadow);
    }

    private static int bucket(int tokens, int chunkSize) {
        int rows = Math.min(MIN_BUCKET, chunkSize);
        while (rows < tokens) {
            rows *= 2;
        }
        return Math.min(rows, chunkSize);
    }

    private TaskGraph buildGraph() {
        TaskGraph.Builder b = TaskGraph.builder();
        int layers = shape.layers();
        for (int c = 0; c < chunks; c++) {
            int[] layerOutput = {};    // tasks whose results form the input of the next layer
            for (int l = 0; l < layers; l++) {
                boolean shadowed = shadow.covers(l, layers);
                int qkv = add(b, c, l, TaskKind.QKV, qkvWork(), layerOutput);
                int[] qkvDone = {qkv};
                if (shadowed) {
                    int qkvShadow = add(b, c, l, TaskKind.QKV_SHADOW, qkvShadowWork(), layerOutput);
                    qkvDone = new int[] {qkv, qkvShadow};
                }
                int attention = add(b, c, l, TaskKind.ATTENTION, attentionWork(c), qkvDone);
                for (int earlier = 0; earlier < c; earlier++) {      // keys and values of earlier chunks
                    b.dependency(id(earlier, l, TaskKind.QKV), attention);
                    int earlierShadow = id(earlier, l, TaskKind.QKV_SHADOW);
                    if (earlierShadow >= 0) {
                        b.dependency(earlierShadow, attention);
                    }
                }
                int outFfn = add(b, c, l, TaskKind.OUTPUT_FFN, outputFfnWork(), new int[] {attention});
                layerOutput = new int[] {outFfn};
                if (shadowed) {
                    int outShadow = add(b, c, l, TaskKind.OUTPUT_FFN_SHADOW, outputFfnShadowWork(),
                            new int[] {attention});
                    layerOutput = new int[] {outFfn, outShadow};
                }
            }
            if (c == chunks - 1) {
                add(b, c, layers - 1, TaskKind.LOGITS, logitsWork(), layerOutput);
            }
        }
        return b.build();
    }

    private int add(TaskGraph.Builder b, int chunk, int layer, TaskKind kind, Workload work, int[] after) {
        int id = b.add(chunk, layer, kind, work);
        for (int p : after) {
            b.dependency(p, id);
        }
        index[slot(chunk, layer, kind)] = id;
        return id;
    }

    private int slot(int chunk, int layer, TaskKind kind) {
        return (chunk * shape.layers() + layer) * TaskKind.values().length + kind.ordinal();
    }

    /**
     * The id of the task of {@code kind} for a chunk and layer, or -1 if there is none (a shadow
     * task in a pruned layer; {@link TaskKind#LOGITS} exists only for the last chunk's last layer).
     */
    public int id(int chunk, int layer, TaskKind kind) {
        if (chunk < 0 || chunk >= chunks || layer < 0 || layer >= shape.layers()) {
            throw new IndexOutOfBoundsException("no chunk " + chunk + " / layer " + layer + " in this prefill");
        }
        return index[slot(chunk, layer, kind)];
    }

    // ---- workloads ----

    private Workload qkvWork() {
        double out = shape.qDim() + 2.0 * shape.kvDim();
        double ops = 2.0 * chunkRows * shape.dim() * out;
        double bytes = shape.dim() * out * INT8 + (double) chunkRows * shape.dim() * INT8 + chunkRows * out * FP16;
        return new Workload(ops, bytes);
    }

    private Workload attentionWork(int chunk) {
        double rows = chunkRows;
        double keys = (double) (chunk + 1) * chunkRows;
        double scoresAndValues = 4.0 * rows * keys * shape.qDim();           // Q·K^T and P·V
        double softmax = 5.0 * rows * keys * shape.heads();                  // max, sub, exp, sum, scale
        double rope = 3.0 * rows * (shape.qDim() + shape.kvDim());           // 6 ops per rotated pair
        double bytes = rows * shape.qDim() * FP16 * 2                        // queries in, context out
                + 2.0 * keys * shape.kvDim() * FP16;                         // keys and values read
        return new Workload(scoresAndValues + softmax + rope, bytes);
    }

    private Workload outputFfnWork() {
        double weights = (double) shape.qDim() * shape.dim() + 3.0 * shape.dim() * shape.hiddenDim();
        double ops = 2.0 * chunkRows * weights;
        double bytes = weights * INT8 + (double) chunkRows * shape.qDim() * INT8
                + 2.0 * chunkRows * shape.dim() * FP16;                      // residual in and out
        return new Workload(ops, bytes);
    }

    private Workload qkvShadowWork() {
        return shadowWork(shape.qDim() + 2.0 * shape.kvDim(), 1);
    }

    private Workload outputFfnShadowWork() {
        // O projection (out: dim), gate and up (out: 2 x hidden), down (out: dim).
        return shadowWork(shape.dim() + 2.0 * shape.hiddenDim() + shape.dim(), 3);
    }

    /** Sparse remainder W·(x - clip(x)): only the outlier channels' weight rows, all chunk rows. */
    private Workload shadowWork(double outputs, int linearInputs) {
        double k = shadow.outlierChannels();
        double ops = 2.0 * chunkRows * k * outputs;
        double bytes = k * outputs * FP16                                    // hot weight rows in float
                + linearInputs * chunkRows * k * FP16                        // the outlier values
                + chunkRows * outputs * FP16;                                // correction added to the result
        return new Workload(ops, bytes);
    }

    private Workload logitsWork() {
        double weights = (double) shape.vocabSize() * shape.dim();
        return new Workload(2.0 * weights, weights * INT8 + shape.vocabSize() * 4.0);
    }

    // ---- accessors ----

    public TaskGraph graph() {
        return graph;
    }

    public ModelShape shape() {
        return shape;
    }

    public int promptTokens() {
        return promptTokens;
    }

    /** Rows of every chunk's static graph. */
    public int chunkRows() {
        return chunkRows;
    }

    public int chunks() {
        return chunks;
    }

    public ShadowOutliers shadow() {
        return shadow;
    }
}
