package io.llmnpu.scheduler;

/**
 * What a task of a placed graph mainly does, read off its ops: for charts, reports and the llm.npu
 * cut (INT8 projections on the NPU, float attention and outlier shadows on the CPU/GPU).
 */
public enum TaskKind {
    /** INT8 linear layers (QuantizedLinear): the NPU's work. */
    INT8_LINEAR("INT8 linear", "#4e79a7"),
    /** Outlier remainders of INT8 linear inputs, in float, beside the INT8 work (OutlierShadow). */
    SHADOW("shadow", "#a0cbe8"),
    /** Attention over the KV cache, with the RoPE and merges around it. */
    ATTENTION("attention", "#f28e2b"),
    /** Float linear layers (the float graph's projections). */
    FLOAT_LINEAR("float linear", "#59a14f"),
    /** Everything between the projections: embedding, shadow merges, residual adds, norms, activations. */
    FLOAT_GLUE("norm/add/act", "#bab0ac"),
    /** The LM head: logits of the positions that need them. */
    LOGITS("logits", "#b07aa1");

    private final String label;
    private final String color;

    TaskKind(String label, String color) {
        this.label = label;
        this.color = color;
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
