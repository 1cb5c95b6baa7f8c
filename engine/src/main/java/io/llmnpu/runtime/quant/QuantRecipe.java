package io.llmnpu.runtime.quant;

import io.llmnpu.runtime.model.gguf.GgmlType;
import java.util.Arrays;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The weight types {@code quantize} and {@code synth} write, by the names llama.cpp's
 * {@code llama-quantize} uses, and which type each matrix gets.
 *
 * <p>{@code f32} and {@code f16} put every matrix in that type. The quantized names are llama.cpp's
 * recipes: a base type plus the exceptions of its {@code llama_tensor_get_type}, because a few tensors
 * matter more to quality than their size (for Llama-family models without experts):
 * <ul>
 *   <li>the LM head ({@code output.weight}, or the token embedding of a tied model) in Q6_K (Q8_0 stays
 *       Q8_0), or Q8_0 when its rows are not whole blocks of the base type;</li>
 *   <li>{@code attn_v} and {@code ffn_down} in Q6_K for "more-bits" layers in Q4_K_M and Q5_K_M (the first
 *       and last eighth of the layers and every third in between: {@code i < n/8 || i >= 7n/8 ||
 *       (i - n/8) % 3 == 2}); the lower mixes raise them too (Q2_K: attn_v Q3_K, or Q4_K with 4 or more
 *       query heads per KV head; ffn_down and attn_output Q3_K; Q3_K_M: attn_v Q5_K in the first two
 *       layers, else Q4_K, ffn_down Q5_K in the first sixteenth, else Q4_K, attn_output Q4_K; Q3_K_L:
 *       attn_v, ffn_down and attn_output Q5_K; Q4_K_S: attn_v Q5_K in the first four layers and ffn_down
 *       Q5_K in the first eighth; IQ4_NL: attn_v Q5_K with 4 or more query heads per KV head, ffn_down
 *       Q5_K in the first eighth);</li>
 *   <li>fused QKV ({@code attn_qkv}) one step up in Q3_K_M/L (Q4_K), Q4_K_M (Q5_K) and Q5_K_M (Q6_K);</li>
 *   <li>in 80-layer Llama models with grouped-query attention (Llama 70B), a Q3_K or Q4_K attn_v in Q5_K;</li>
 *   <li>a matrix whose rows are not whole 256-value blocks falls back to a 32-value type of similar size
 *       (Q2_K, Q3_K to IQ4_NL; Q4_K to Q5_0; Q5_K to Q5_1; Q6_K to Q8_0), or F16 if even that does not fit;
 *       for the other types such a matrix is kept as it is (llama-quantize refuses the model).</li>
 * </ul>
 * With {@code pure}, every matrix gets the base type, as {@code llama-quantize --pure} does.
 */
public enum QuantRecipe {
    F32("f32", GgmlType.F32, 0),
    F16("f16", GgmlType.F16, 1),
    Q8_0("q8_0", GgmlType.Q8_0, 7),
    Q4_0("q4_0", GgmlType.Q4_0, 2),
    Q4_1("q4_1", GgmlType.Q4_1, 3),
    Q5_0("q5_0", GgmlType.Q5_0, 8),
    Q5_1("q5_1", GgmlType.Q5_1, 9),
    IQ4_NL("iq4_nl", GgmlType.IQ4_NL, 25),
    Q2_K("q2_k", GgmlType.Q2_K, 10),
    Q3_K_S("q3_k_s", GgmlType.Q3_K, 11),
    Q3_K_M("q3_k_m", GgmlType.Q3_K, 12),
    Q3_K_L("q3_k_l", GgmlType.Q3_K, 13),
    Q4_K_S("q4_k_s", GgmlType.Q4_K, 14),
    Q4_K_M("q4_k_m", GgmlType.Q4_K, 15),
    Q5_K_S("q5_k_s", GgmlType.Q5_K, 16),
    Q5_K_M("q5_k_m", GgmlType.Q5_K, 17),
    Q6_K("q6_k", GgmlType.Q6_K, 18);

    private static final Pattern LAYER = Pattern.compile("blk\\.(\\d{1,9})\\..*");

    private final String label;
    private final GgmlType base;
    private final int fileType;

    QuantRecipe(String label, GgmlType base, int fileType) {
        this.label = label;
        this.base = base;
        this.fileType = fileType;
    }

    /**
     * What the recipe needs to know about the model: its architecture, layer count, query and KV head
     * counts, whether it has its own LM head, and how many attention value tensors it has.
     */
    public record ModelFacts(String architecture, int layers, int heads, int kvHeads, boolean hasOutput,
                             int attentionValueTensors) {
        int queryHeadsPerKvHead() {
            return kvHeads > 0 ? heads / kvHeads : 1;
        }
    }

    /**
     * Parses a recipe as users write it: the labels above in any case, {@code -} for {@code _}, and
     * llama-quantize's short forms {@code q3_k} (Q3_K_M), {@code q4_k} (Q4_K_M), {@code q5_k} (Q5_K_M),
     * {@code q8}, {@code q4}, {@code fp32}, {@code fp16}.
     */
    public static QuantRecipe parse(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT).replace('-', '_');
        String canonical = switch (n) {
            case "fp32" -> "f32";
            case "fp16" -> "f16";
            case "q8" -> "q8_0";
            case "q4" -> "q4_0";
            case "q3_k" -> "q3_k_m";
            case "q4_k" -> "q4_k_m";
            case "q5_k" -> "q5_k_m";
            default -> n;
        };
        for (QuantRecipe r : values()) {
            if (r.label.equals(canonical)) {
                return r;
            }
        }
        throw new IllegalArgumentException("unknown weight type '" + name + "'; use one of "
                + Arrays.stream(values()).map(QuantRecipe::label).collect(Collectors.joining(", ")));
    }

    public String label() {
        return label;
    }

    /** The type most matrices get. */
    public GgmlType baseType() {
        return base;
    }

    /** Whether some matrices may get another type than the base type (every quantized recipe). */
    public boolean isMix() {
        return base.blockSize() > 1;
    }

    /** llama.cpp's {@code general.file_type} ({@code llama_ftype}) of a file made with this recipe. */
    public int fileType() {
        return fileType;
    }

    /**
     * The type of matrix {@code name} whose rows hold {@code cols} values; possibly a type whose blocks
     * the rows do not fill (a 32-value type for rows that are not whole blocks), in which case the
     * caller keeps the matrix as it is.
     */
    public GgmlType typeFor(String name, int cols, ModelFacts model, boolean pure) {
        if (!isMix() || pure) {
            return base;
        }
        GgmlType t = mixedType(name, cols, model);
        if (cols % t.blockSize() == 0) {
            return t;
        }
        GgmlType fallback = switch (t) {
            case Q2_K, Q3_K -> GgmlType.IQ4_NL;
            case Q4_K -> GgmlType.Q5_0;
            case Q5_K -> GgmlType.Q5_1;
            case Q6_K -> GgmlType.Q8_0;
            default -> null;
        };
        if (fallback == null) {
            return t;
        }
        return cols % fallback.blockSize() == 0 ? fallback : GgmlType.F16;
    }

    /** llama_tensor_get_type's choice for the k-quant mixes, before the fallback for rows that do not fit. */
    private GgmlType mixedType(String name, int cols, ModelFacts model) {
        int layer = layer(name);
        int n = model.layers();
        if (name.equals("output.weight") || (!model.hasOutput() && name.equals("token_embd.weight"))) {
            if (cols % base.blockSize() != 0) {
                return GgmlType.Q8_0;
            }
            return base == GgmlType.Q8_0 ? base : GgmlType.Q6_K;
        }
        if (name.equals("token_embd.weight")) {
            return base;
        }
        if (name.contains("attn_v.weight")) {
            GgmlType t = switch (this) {
                case Q2_K -> model.queryHeadsPerKvHead() >= 4 ? GgmlType.Q4_K : GgmlType.Q3_K;
                case Q3_K_M -> layer < 2 ? GgmlType.Q5_K : GgmlType.Q4_K;
                case Q3_K_L -> GgmlType.Q5_K;
                case Q4_K_M, Q5_K_M -> moreBits(layer, model.attentionValueTensors()) ? GgmlType.Q6_K : base;
                case Q4_K_S -> layer < 4 ? GgmlType.Q5_K : base;
                case IQ4_NL -> model.queryHeadsPerKvHead() >= 4 ? GgmlType.Q5_K : base;
                default -> base;
            };
            boolean llama70b = model.architecture().equals("llama") && n == 80 && model.kvHeads() < model.heads();
            if (llama70b && (t == GgmlType.Q3_K || t == GgmlType.Q4_K)) {
                t = GgmlType.Q5_K;
            }
            return t;
        }
        if (name.contains("ffn_down")) {
            return switch (this) {
                case Q2_K -> GgmlType.Q3_K;
                case Q3_K_M -> layer < n / 16 ? GgmlType.Q5_K : GgmlType.Q4_K;
                case Q3_K_L -> GgmlType.Q5_K;
                case Q4_K_M, Q5_K_M -> moreBits(layer, n) ? GgmlType.Q6_K : base;
                case Q4_K_S, IQ4_NL -> layer < n / 8 ? GgmlType.Q5_K : base;
                default -> base;
            };
        }
        if (name.contains("attn_output.weight")) {
            return switch (this) {
                case Q2_K -> GgmlType.Q3_K;
                case Q3_K_M -> GgmlType.Q4_K;
                case Q3_K_L -> GgmlType.Q5_K;
                default -> base;
            };
        }
        if (name.contains("attn_qkv.weight")) {
            return switch (this) {
                case Q3_K_M, Q3_K_L -> GgmlType.Q4_K;
                case Q4_K_M -> GgmlType.Q5_K;
                case Q5_K_M -> GgmlType.Q6_K;
                default -> base;
            };
        }
        return base;
    }

    /** llama.cpp's "use more bits" layers: the first and last eighth, and every third layer in between. */
    static boolean moreBits(int layer, int layers) {
        return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
    }

    /** The block index of a {@code blk.N.*} tensor, or -1. */
    private static int layer(String name) {
        Matcher m = LAYER.matcher(name);
        return m.matches() ? Integer.parseInt(m.group(1)) : -1;
    }
}
