package io.llmnpu.runtime.model;

import io.llmnpu.api.graph.RopeStyle;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * The families of decoder-only transformers llmnpu runs, and the table from a file's
 * {@code general.architecture} to its family and RoPE pairing. A family fixes the shape of the graph
 * (see {@code io.llmnpu.runtime.graph.Architectures}) and which tensors a block may have; names that
 * share a family differ only in what their weights and metadata say (biases, fused tensors, RoPE
 * pairing, sliding window).
 */
public enum ModelFamily {
    /**
     * Pre-norm Llama blocks with RMSNorm and SwiGLU. Optional q/k/v/output and FFN biases (Qwen2),
     * fused q/k/v and gate/up tensors (Phi-3), RoPE frequency factors (Llama 3.1).
     */
    LLAMA(Set.of(LayerWeights.ATTN_NORM, LayerWeights.WO, LayerWeights.FFN_NORM, LayerWeights.FFN_UP,
                    LayerWeights.FFN_DOWN),
            Set.of(LayerWeights.BQ, LayerWeights.BK, LayerWeights.BV, LayerWeights.BO, LayerWeights.FFN_GATE,
                    LayerWeights.FFN_GATE_BIAS, LayerWeights.FFN_UP_BIAS, LayerWeights.FFN_DOWN_BIAS),
            Set.of(ModelWeights.OUTPUT_BIAS, ModelWeights.ROPE_FREQS), "attention.layer_norm_rms_epsilon"),
    /** Gemma: GeGLU, embeddings scaled by sqrt(dim). */
    GEMMA(Set.of(LayerWeights.ATTN_NORM, LayerWeights.WO, LayerWeights.FFN_NORM, LayerWeights.FFN_GATE,
                    LayerWeights.FFN_UP, LayerWeights.FFN_DOWN),
            Set.of(), Set.of(), "attention.layer_norm_rms_epsilon"),
    /** Gemma 2: Gemma plus post-attention and post-FFN norms, soft-capping and alternating sliding windows. */
    GEMMA2(Set.of(LayerWeights.ATTN_NORM, LayerWeights.WO, LayerWeights.POST_ATTN_NORM, LayerWeights.FFN_NORM,
                    LayerWeights.FFN_GATE, LayerWeights.FFN_UP, LayerWeights.FFN_DOWN, LayerWeights.POST_FFN_NORM),
            Set.of(), Set.of(), "attention.layer_norm_rms_epsilon"),
    /** Phi-2: LayerNorm with biases, parallel attention and GELU MLP, biases everywhere. */
    PHI2(Set.of(LayerWeights.ATTN_NORM, LayerWeights.ATTN_NORM_BIAS, LayerWeights.BQ, LayerWeights.BK,
                    LayerWeights.BV, LayerWeights.WO, LayerWeights.BO, LayerWeights.FFN_UP, LayerWeights.FFN_UP_BIAS,
                    LayerWeights.FFN_DOWN, LayerWeights.FFN_DOWN_BIAS),
            Set.of(), Set.of(ModelWeights.OUTPUT_NORM_BIAS, ModelWeights.OUTPUT_BIAS), "attention.layer_norm_epsilon");

    /** A name of {@code general.architecture}: its family and how its RoPE pairs dimensions. */
    public record Architecture(String name, ModelFamily family, RopeStyle ropeStyle) {
    }

    /** The table, in a stable order for messages. */
    private static final Map<String, Architecture> ARCHITECTURES = new LinkedHashMap<>();

    static {
        // llama.cpp's "normal" RoPE (adjacent pairs)
        for (String name : new String[] {"llama", "mistral", "internlm2", "xverse"}) {
            register(name, LLAMA, RopeStyle.ADJACENT);
        }
        // NeoX RoPE; files of these names run when their tensors are those of a Llama block
        for (String name : new String[] {"qwen2", "phi3", "qwen", "qwen3", "stablelm", "gptneox", "falcon", "olmo2",
                "starcoder2", "openelm", "codeshell", "exaone", "dbrx", "nemotron"}) {
            register(name, LLAMA, RopeStyle.NEOX);
        }
        register("gemma", GEMMA, RopeStyle.NEOX);
        register("gemma2", GEMMA2, RopeStyle.NEOX);
        register("phi2", PHI2, RopeStyle.NEOX);
    }

    private static void register(String name, ModelFamily family, RopeStyle style) {
        ARCHITECTURES.put(name, new Architecture(name, family, style));
    }

    private final Set<String> requiredParts;
    private final Set<String> optionalParts;
    private final Set<String> modelExtras;
    private final String normEpsilonKey;

    ModelFamily(Set<String> requiredParts, Set<String> optionalParts, Set<String> modelExtras, String normEpsilonKey) {
        this.requiredParts = requiredParts;
        this.optionalParts = optionalParts;
        this.modelExtras = modelExtras;
        this.normEpsilonKey = normEpsilonKey;
    }

    /** The architecture of that {@code general.architecture} name, or empty if llmnpu does not run it. */
    public static Optional<Architecture> architecture(String name) {
        return Optional.ofNullable(ARCHITECTURES.get(name));
    }

    /** The family of a configuration's architecture. */
    public static ModelFamily of(ModelConfig config) {
        return architecture(config.architecture()).map(Architecture::family).orElseThrow(() ->
                new IllegalArgumentException("unknown architecture " + config.architecture()));
    }

    /** Every supported name, by family, for messages. */
    public static Map<ModelFamily, java.util.List<String>> names() {
        Map<ModelFamily, java.util.List<String>> byFamily = new TreeMap<>();
        ARCHITECTURES.values().forEach(a -> byFamily.computeIfAbsent(a.family(), f -> new java.util.ArrayList<>()).add(a.name()));
        return byFamily;
    }

    /**
     * Block parts (GGUF names after {@code blk.N.}) every block of this family must have, beside the
     * q/k/v projections, which may come fused as {@code attn_qkv} (and, in {@link #LLAMA}, the gate,
     * which may come fused into a double-height {@code ffn_up}).
     */
    public Set<String> requiredParts() {
        return requiredParts;
    }

    /** Block parts a block of this family may have. */
    public Set<String> optionalParts() {
        return optionalParts;
    }

    /** Model-level tensors besides embedding, final norm and LM head that this family may have. */
    public Set<String> modelExtras() {
        return modelExtras;
    }

    /** The metadata key (after {@code <architecture>.}) of the normalisation epsilon. */
    public String normEpsilonKey() {
        return normEpsilonKey;
    }
}
