package io.llmnpu.runtime.quant;

import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.LayerWeights;
import java.util.function.Function;

/** The seven linear layers of a Llama block, with the site whose input they read. */
public enum LinearLayer {
    Q(LinearSite.QKV, "q", LayerWeights::wq),
    K(LinearSite.QKV, "k", LayerWeights::wk),
    V(LinearSite.QKV, "v", LayerWeights::wv),
    O(LinearSite.O, "attn_out", LayerWeights::wo),
    GATE(LinearSite.GATE_UP, "ffn_gate", LayerWeights::wGate),
    UP(LinearSite.GATE_UP, "ffn_up", LayerWeights::wUp),
    DOWN(LinearSite.DOWN, "ffn_down", LayerWeights::wDown);

    private final LinearSite site;
    private final String outputSuffix;
    private final Function<LayerWeights, Tensor> weight;

    LinearLayer(LinearSite site, String outputSuffix, Function<LayerWeights, Tensor> weight) {
        this.site = site;
        this.outputSuffix = outputSuffix;
        this.weight = weight;
    }

    public LinearSite site() {
        return site;
    }

    public Tensor weight(LayerWeights w) {
        return weight.apply(w);
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
