package io.llmnpu.runtime.quant;

/** How the linear layers of a forward pass run. */
public enum QuantMode {
    /** Float everything, on the CPU: the reference. */
    FP32("fp32", "FP32"),
    /** Per-tensor INT8 activations with absmax scales, no shadow: what a naive NPU port does. */
    NAIVE("naive", "W8A8 naive (absmax)"),
    /** Per-tensor INT8 activations with clipped (percentile) scales, no shadow: outliers just clip. */
    CLIPPED("clipped", "W8A8 clipped"),
    /** Clipped scales, and every site's outliers computed in float on the CPU at the same time. */
    SHADOW("shadow", "W8A8 + shadow"),
    /** Clipped scales, with shadows kept only at the most important sites. */
    SHADOW_PRUNED("shadow-pruned", "W8A8 + shadow + pruning");

    private final String key;
    private final String label;

    QuantMode(String key, String label) {
        this.key = key;
        this.label = label;
    }

    /** Name for command lines and files. */
    public String key() {
        return key;
    }

    /** Name for tables and charts. */
    public String label() {
        return label;
    }

    public boolean quantized() {
        return this != FP32;
    }

    /** Whether inputs use the clipped scale (else absmax). */
    public boolean clipped() {
        return this == CLIPPED || this == SHADOW || this == SHADOW_PRUNED;
    }

    public static QuantMode fromKey(String key) {
        for (QuantMode m : values()) {
            if (m.key.equalsIgnoreCase(key)) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown mode '" + key + "'; use fp32, naive, clipped, shadow or shadow-pruned");
    }
}
