package io.llmnpu.runtime.quant;

/**
 * A place in a transformer block where activations enter linear layers: the layers of one site read
 * the same input, so they share its INT8 scale, its outliers and its shadow. The value names are those
 * of {@link io.llmnpu.runtime.graph.ModelGraphBuilder}'s body graph.
 */
public enum LinearSite {
    /** The normed residual stream entering the q, k and v projections. */
    QKV("attn_in"),
    /** The attention output entering the output projection. */
    O("attn"),
    /** The normed residual stream entering the gate and up projections. */
    GATE_UP("ffn_in"),
    /** The gated activation entering the down projection. */
    DOWN("ffn_act");

    private final String valueSuffix;

    LinearSite(String valueSuffix) {
        this.valueSuffix = valueSuffix;
    }

    /** Name of this site's input value in layer {@code layer}'s body graph. */
    public String valueName(int layer) {
        return "blk." + layer + "." + valueSuffix;
    }

    /** Short lower-case name used in files and reports: qkv, o, gate_up, down. */
    public String key() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public static LinearSite fromKey(String key) {
        for (LinearSite s : values()) {
            if (s.key().equals(key)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown linear site '" + key + "'");
    }
}
