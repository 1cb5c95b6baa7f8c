package io.llmnpu.runtime.model;

import io.llmnpu.api.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The weights of one transformer block by their GGUF part name ({@code attn_q.weight},
 * {@code attn_q.bias}, {@code post_ffw_norm.weight}, ...). Matrices are [out, in]; norms and biases are
 * F32 vectors. Which parts a block has depends on the family: a Llama block has the nine of the
 * positional constructor, a Qwen2 block adds q/k/v biases, a Phi-2 block has LayerNorm biases and no
 * gate. Fused tensors of a file ({@code attn_qkv}, Phi-3's doubled {@code ffn_up}) are stored here as
 * their parts, row slices of the fused tensor.
 *
 * @param tensors part name to tensor
 */
public record LayerWeights(Map<String, Tensor> tensors) {
    public static final String ATTN_NORM = "attn_norm.weight";
    public static final String ATTN_NORM_BIAS = "attn_norm.bias";
    public static final String WQ = "attn_q.weight";
    public static final String WK = "attn_k.weight";
    public static final String WV = "attn_v.weight";
    public static final String WO = "attn_output.weight";
    public static final String BQ = "attn_q.bias";
    public static final String BK = "attn_k.bias";
    public static final String BV = "attn_v.bias";
    public static final String BO = "attn_output.bias";
    public static final String POST_ATTN_NORM = "post_attention_norm.weight";
    public static final String FFN_NORM = "ffn_norm.weight";
    public static final String FFN_GATE = "ffn_gate.weight";
    public static final String FFN_UP = "ffn_up.weight";
    public static final String FFN_DOWN = "ffn_down.weight";
    public static final String FFN_GATE_BIAS = "ffn_gate.bias";
    public static final String FFN_UP_BIAS = "ffn_up.bias";
    public static final String FFN_DOWN_BIAS = "ffn_down.bias";
    public static final String POST_FFN_NORM = "post_ffw_norm.weight";

    public LayerWeights {
        tensors = Map.copyOf(tensors);
    }

    /**
     * A Llama block.
     *
     * @param attnNorm RMSNorm before attention
     * @param wq       query projection [qDim, dim]
     * @param wk       key projection [kvDim, dim]
     * @param wv       value projection [kvDim, dim]
     * @param wo       attention output projection [dim, qDim]
     * @param ffnNorm  RMSNorm before the feed-forward network
     * @param wGate    gate projection (llama2.c w1) [hiddenDim, dim]
     * @param wDown    down projection (llama2.c w2) [dim, hiddenDim]
     * @param wUp      up projection (llama2.c w3) [hiddenDim, dim]
     */
    public LayerWeights(Tensor attnNorm, Tensor wq, Tensor wk, Tensor wv, Tensor wo,
                        Tensor ffnNorm, Tensor wGate, Tensor wDown, Tensor wUp) {
        this(llama(attnNorm, wq, wk, wv, wo, ffnNorm, wGate, wDown, wUp));
    }

    private static Map<String, Tensor> llama(Tensor attnNorm, Tensor wq, Tensor wk, Tensor wv, Tensor wo,
                                             Tensor ffnNorm, Tensor wGate, Tensor wDown, Tensor wUp) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put(ATTN_NORM, attnNorm);
        m.put(WQ, wq);
        m.put(WK, wk);
        m.put(WV, wv);
        m.put(WO, wo);
        m.put(FFN_NORM, ffnNorm);
        m.put(FFN_GATE, wGate);
        m.put(FFN_DOWN, wDown);
        m.put(FFN_UP, wUp);
        return m;
    }

    /** The part, or empty if this block has none. */
    public Optional<Tensor> find(String part) {
        return Optional.ofNullable(tensors.get(part));
    }

    /**
     * The part.
     *
     * @throws IllegalStateException if this block has no such part (a graph asked for a part its
     *                               family does not have)
     */
    public Tensor get(String part) {
        Tensor t = tensors.get(part);
        if (t == null) {
            throw new IllegalStateException("this block has no " + part + " (it has " + tensors.keySet() + ")");
        }
        return t;
    }

    public Tensor attnNorm() {
        return get(ATTN_NORM);
    }

    public Tensor wq() {
        return get(WQ);
    }

    public Tensor wk() {
        return get(WK);
    }

    public Tensor wv() {
        return get(WV);
    }

    public Tensor wo() {
        return get(WO);
    }

    public Tensor ffnNorm() {
        return get(FFN_NORM);
    }

    public Tensor wGate() {
        return get(FFN_GATE);
    }

    public Tensor wDown() {
        return get(FFN_DOWN);
    }

    public Tensor wUp() {
        return get(FFN_UP);
    }
}
