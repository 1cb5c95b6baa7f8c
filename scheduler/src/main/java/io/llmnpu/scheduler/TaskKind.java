package io.llmnpu.scheduler;

/**
 * The subgraphs one layer of one prefill chunk is cut into, following llm.npu: NPU-affine INT8
 * projections around CPU/GPU-affine float attention, plus the optional float "shadow" tasks that
 * add back the activation outliers an INT8 linear layer cannot represent.
 */
public enum TaskKind {
    /** Q, K and V projections of the chunk (INT8 matmul); writes the chunk's keys and values. */
    QKV(AffinityClass.NPU, Arithmetic.INT8_MATMUL, "QKV", "#4e79a7"),
    /** Outlier remainder of the QKV input, in float, concurrent with {@link #QKV}. */
    QKV_SHADOW(AffinityClass.CPU_GPU, Arithmetic.FLOAT, "QKV shadow", "#a0cbe8"),
    /** RoPE, attention of the chunk's queries over the KV cache so far, softmax (float). */
    ATTENTION(AffinityClass.CPU_GPU, Arithmetic.FLOAT, "attention", "#f28e2b"),
    /** O projection, residual, norm and the feed-forward network (INT8 matmul). */
    OUTPUT_FFN(AffinityClass.NPU, Arithmetic.INT8_MATMUL, "O+FFN", "#59a14f"),
    /** Outlier remainders of the O projection and FFN inputs, in float, concurrent with {@link #OUTPUT_FFN}. */
    OUTPUT_FFN_SHADOW(AffinityClass.CPU_GPU, Arithmetic.FLOAT, "O+FFN shadow", "#8cd17d"),
    /**
     * Float work between the projections that the paper's coarse cut folds into its neighbours:
     * embedding, shadow merges, residual adds, norms and the SiLU gate. A runtime that executes
     * the real graphs cuts at every NPU/CPU boundary, so these become tasks of their own.
     */
    FLOAT_GLUE(AffinityClass.CPU_GPU, Arithmetic.FLOAT, "norm/add/act", "#bab0ac"),
    /** Final norm and output projection of the prompt's last token: the logits of the first generated token. */
    LOGITS(AffinityClass.CPU_GPU, Arithmetic.FLOAT, "logits", "#b07aa1");

    private final AffinityClass affinity;
    private final Arithmetic arithmetic;
    private final String label;
    private final String color;

    TaskKind(AffinityClass affinity, Arithmetic arithmetic, String label, String color) {
        this.affinity = affinity;
        this.arithmetic = arithmetic;
        this.label = label;
        this.color = color;
    }

    public AffinityClass affinity() {
        return affinity;
    }

    public Arithmetic arithmetic() {
        return arithmetic;
    }

    /** Short human-readable name. */
    public String label() {
        return label;
    }

    /** Fill color in Gantt charts (CSS hex). */
    public String color() {
        return color;
    }
}
