package io.llmnpu.runtime.quant;

import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.LayerWeights;
import java.util.Optional;

/**
 * The linear layers of a transformer block, with the site whose input they read in a Llama block.
 * Families without some of them (no gate in a plain MLP) simply lack those layers; families whose
 * layers read another site's value (Phi-2's parallel MLP reads {@code attn_in}) are calibrated on the
 * value the graph really feeds them (see {@code Calibrator}).
 */
public enum LinearLayer {
    Q(LinearSite.QKV, "q", LayerWeights.WQ),
    K(LinearSite.QKV, "k", LayerWeights.WK),
    V(LinearSite.QKV, "v", LayerWeights.WV),
    O(LinearSite.O, "attn_out", LayerWeights.WO),
    GATE(LinearSite.GATE_UP, "ffn_gate", LayerWeights.FFN_GATE),
    UP(LinearSite.GATE_UP, "ffn_up", LayerWeights.FFN_UP),
    DOWN(LinearSite.DOWN, "ffn_down", LayerWeights.FFN_DOWN);

    private final LinearSite site;
    private final String outputSuffix;
    private final String part;

    LinearLayer(LinearSite site, String outputSuffix, String part) {
        this.site = site;
        this.outputSuffix = outputSuffix;
        this.part = part;
    }

    public LinearSite site() {
        return site;
    }

    public Tensor weight(LayerWeights w) {
        return w.get(part);
    }

    /** The weight, or empty when the block's family has no such layer (Phi-2's MLP has no gate). */
    public Optional<Tensor> find(LayerWeights w) {
        return w.find(part);
    }

    /** Name of this layer's output value in layer {@code layer}'s body graph. */
    public String outputName(int layer) {
        return "blk." + layer + "." + outputSuffix;
    }

    public String key() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public static LinearLayer fromKey(String key) {
        for (LinearLayer l : values()) {
            if (l.key().equals(key)) {
                return l;
            }
        }
        throw new IllegalArgumentException("unknown linear layer '" + key + "'");
    }
}
