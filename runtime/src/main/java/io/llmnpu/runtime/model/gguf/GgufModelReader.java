package io.llmnpu.runtime.model.gguf;

import io.llmnpu.api.graph.RopeStyle;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.LayerWeights;
import io.llmnpu.runtime.model.ParsedModel;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelFormat;
import io.llmnpu.runtime.model.ModelFormatException;
import io.llmnpu.runtime.model.ModelWeights;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a Llama-family model (hyper-parameters and weights) from a {@link GgufFile}.
 *
 * <p>Only files whose computation is fully described by the Llama graph are accepted: every tensor
 * must be one the graph uses, so a model with extra parts (biases, q/k norms, experts, RoPE frequency
 * factors) fails with a message naming the tensor instead of silently producing wrong output, and
 * architectures that differ in ways their tensors do not show (Gemma's embedding scale, Granite's
 * multipliers, ...) are rejected by name. Every tensor's shape is checked against the configuration.
 */
public final class GgufModelReader {
    /** Architectures whose RoPE rotates adjacent pairs (llama.cpp "NORM" rope type). */
    private static final Set<String> ADJACENT_ARCHITECTURES = Set.of(
            "llama", "mistral", "internlm2", "xverse");
    /** Architectures whose RoPE rotates x[i] with x[i + rotaryDims/2] (llama.cpp "NEOX" rope type). */
    private static final Set<String> NEOX_ARCHITECTURES = Set.of(
            "qwen", "qwen2", "qwen3", "phi3", "stablelm", "gptneox", "falcon", "olmo2", "starcoder2", "openelm",
            "codeshell", "exaone", "dbrx", "nemotron");
    /** Llama-shaped architectures whose computation differs in ways that are not visible in their tensors. */
    private static final Map<String, String> HIDDEN_DIFFERENCES = Map.of(
            "gemma", "scales embeddings by sqrt(dim) and offsets norm weights by one",
            "gemma2", "scales embeddings, soft-caps logits and uses extra norms",
            "gemma3", "scales embeddings, uses extra norms and sliding-window attention",
            "granite", "applies embedding, residual, attention and logit multipliers",
            "minicpm", "applies embedding and residual scales",
            "command-r", "uses layer norm with parallel attention and a logit scale",
            "cohere2", "uses layer norm with parallel attention and a logit scale",
            "grok", "applies embedding and output multipliers");

    private static final Pattern LAYER_TENSOR = Pattern.compile("blk\\.(\\d+)\\.(.+)");
    private static final Set<String> LAYER_PARTS = Set.of(
            "attn_norm.weight", "attn_q.weight", "attn_k.weight", "attn_v.weight", "attn_output.weight",
            "ffn_norm.weight", "ffn_gate.weight", "ffn_down.weight", "ffn_up.weight");

    private final GgufFile gguf;

    private GgufModelReader(GgufFile gguf) {
        this.gguf = gguf;
    }

    /**
     * Reads the configuration and maps the weights of a Llama-family GGUF model.
     *
     * @throws ModelFormatException if keys or tensors are missing, mistyped or inconsistent, or the
     *                              architecture is not one llmnpu runs
     */
    public static ParsedModel read(GgufFile gguf) {
        return new GgufModelReader(gguf).read();
    }

    /** The RoPE pairing llama.cpp uses for {@code architecture}, or empty if it is not a supported one. */
    public static Optional<RopeStyle> ropeStyle(String architecture) {
        if (ADJACENT_ARCHITECTURES.contains(architecture)) {
            return Optional.of(RopeStyle.ADJACENT);
        }
        if (NEOX_ARCHITECTURES.contains(architecture)) {
            return Optional.of(RopeStyle.NEOX);
        }
        return Optional.empty();
    }

    private ParsedModel read() {
        String arch = gguf.getString("general.architecture");
        String hidden = HIDDEN_DIFFERENCES.get(arch);
        if (hidden != null) {
            throw error(gguf.keyOffset("general.architecture"), "architecture " + arch + " is not supported: it " + hidden);
        }
        RopeStyle ropeStyle = ropeStyle(arch).orElseThrow(() -> error(gguf.keyOffset("general.architecture"),
                "unknown or unsupported architecture \"" + arch + "\" (Llama-family architectures: "
                        + new TreeSet<>(ADJACENT_ARCHITECTURES) + " " + new TreeSet<>(NEOX_ARCHITECTURES) + ")"));
        if (!gguf.hasTensor("token_embd.weight") || !gguf.hasTensor("blk.0.attn_q.weight")) {
            throw error(-1, "architecture " + arch + " is not stored as a Llama-family model: tensor "
                    + (gguf.hasTensor("token_embd.weight") ? "blk.0.attn_q.weight" : "token_embd.weight") + " is missing");
        }
        ModelConfig config = readConfig(arch, ropeStyle);
        checkNoUnusedTensors(config);
        return new ParsedModel(gguf.path(), ModelFormat.GGUF, config, readWeights(config));
    }

    private ModelConfig readConfig(String arch, RopeStyle ropeStyle) {
        String p = arch + ".";
        int dim = gguf.getInt(p + "embedding_length");
        int hiddenDim = gguf.getInt(p + "feed_forward_length");
        int layers = gguf.getInt(p + "block_count");
        int heads = gguf.getInt(p + "attention.head_count");
        int kvHeads = gguf.optInt(p + "attention.head_count_kv").orElse(heads);
        int contextLength = gguf.getInt(p + "context_length");
        if (heads <= 0) {
            throw error(gguf.keyOffset(p + "attention.head_count"), p + "attention.head_count = " + heads + " must be positive");
        }
        Optional<Integer> keyLength = gguf.optInt(p + "attention.key_length");
        if (keyLength.isEmpty() && dim % heads != 0) {
            throw error(gguf.keyOffset(p + "embedding_length"), "embedding_length " + dim
                    + " is not a multiple of head_count " + heads + " and " + p + "attention.key_length is absent");
        }
        int headDim = keyLength.orElse(dim / heads);
        Optional<Integer> valueLength = gguf.optInt(p + "attention.value_length");
        if (valueLength.isPresent() && valueLength.get() != headDim) {
            throw error(gguf.keyOffset(p + "attention.value_length"), "value head size " + valueLength.get()
                    + " differs from key head size " + headDim + "; not supported");
        }
        if ((long) heads * headDim > ModelConfig.MAX_DIMENSION || (long) kvHeads * headDim > ModelConfig.MAX_DIMENSION) {
            throw error(-1, "head_count " + heads + " / head_count_kv " + kvHeads + " x head size " + headDim
                    + " exceeds " + ModelConfig.MAX_DIMENSION);
        }
        int rotaryDims = gguf.optInt(p + "rope.dimension_count").orElse(headDim);
        float ropeTheta = gguf.optFloat(p + "rope.freq_base").orElse(10000f);
        float rmsEps = gguf.optFloat(p + "attention.layer_norm_rms_epsilon").orElse(1e-5f);
        checkNoRopeScaling(p);
        int vocabSize = vocabSize(p);
        try {
            return new ModelConfig(arch, dim, hiddenDim, layers, heads, kvHeads, headDim, vocabSize, contextLength,
                    rotaryDims, ropeTheta, ropeStyle, rmsEps);
        } catch (IllegalArgumentException e) {
            throw error(-1, "invalid model configuration: " + e.getMessage());
        }
    }

    private void checkNoRopeScaling(String p) {
        Optional<String> scaling = gguf.optString(p + "rope.scaling.type");
        if (scaling.isPresent() && !scaling.get().equals("none")) {
            throw error(gguf.keyOffset(p + "rope.scaling.type"), "RoPE scaling \"" + scaling.get() + "\" is not supported");
        }
        Optional<Float> linear = gguf.optFloat(p + "rope.scale_linear");
        if (linear.isPresent() && linear.get() != 1f) {
            throw error(gguf.keyOffset(p + "rope.scale_linear"), "linear RoPE scaling " + linear.get() + " is not supported");
        }
    }

    private int vocabSize(String p) {
        if (gguf.has("tokenizer.ggml.tokens")) {
            return gguf.getList("tokenizer.ggml.tokens").size();
        }
        Optional<Integer> declared = gguf.optInt(p + "vocab_size");
        if (declared.isPresent()) {
            return declared.get();
        }
        GgufTensorInfo embedding = gguf.tensorInfo("token_embd.weight").orElseThrow();
        return embedding.shape().rank() == 2 ? embedding.shape().dim(0) : -1;
    }

    /** Every tensor must be one the Llama graph uses; anything else would be silently ignored. */
    private void checkNoUnusedTensors(ModelConfig config) {
        Set<String> known = new HashSet<>(Set.of("token_embd.weight", "output_norm.weight", "output.weight"));
        for (GgufTensorInfo info : gguf.tensorInfos()) {
            String name = info.name();
            if (known.contains(name)) {
                continue;
            }
            Matcher m = LAYER_TENSOR.matcher(name);
            if (m.matches() && LAYER_PARTS.contains(m.group(2)) && m.group(1).length() <= 9
                    && Integer.parseInt(m.group(1)) < config.layers()) {
                continue;
            }
            throw error(info.infoOffset(), "tensor " + name + " is not part of the Llama-family graph (architecture "
                    + config.architecture() + ", " + config.layers() + " blocks); the model needs computation llmnpu does not run");
        }
    }

    private ModelWeights readWeights(ModelConfig c) {
        Tensor embedding = matrix("token_embd.weight", c.vocabSize(), c.dim());
        List<LayerWeights> layers = new ArrayList<>(); // block_count is untrusted until its tensors are found
        for (int i = 0; i < c.layers(); i++) {
            String b = "blk." + i + ".";
            layers.add(new LayerWeights(
                    norm(b + "attn_norm.weight", c.dim()),
                    matrix(b + "attn_q.weight", c.qDim(), c.dim()),
                    matrix(b + "attn_k.weight", c.kvDim(), c.dim()),
                    matrix(b + "attn_v.weight", c.kvDim(), c.dim()),
                    matrix(b + "attn_output.weight", c.dim(), c.qDim()),
                    norm(b + "ffn_norm.weight", c.dim()),
                    matrix(b + "ffn_gate.weight", c.hiddenDim(), c.dim()),
                    matrix(b + "ffn_down.weight", c.dim(), c.hiddenDim()),
                    matrix(b + "ffn_up.weight", c.hiddenDim(), c.dim())));
        }
        Tensor finalNorm = norm("output_norm.weight", c.dim());
        // Tied models store no output.weight; the embedding table doubles as the LM head.
        Tensor output = gguf.hasTensor("output.weight") ? matrix("output.weight", c.vocabSize(), c.dim()) : embedding;
        return new ModelWeights(embedding, layers, finalNorm, output);
    }

    private Tensor matrix(String name, int rows, int cols) {
        return checked(name, Shape.of(rows, cols));
    }

    private Tensor norm(String name, int size) {
        Tensor t = checked(name, Shape.of(size));
        if (t.dtype() != DType.F32) {
            throw error(gguf.tensorInfo(name).orElseThrow().infoOffset(), name + " is " + t.dtype() + "; norm weights must be F32");
        }
        return t;
    }

    private Tensor checked(String name, Shape expected) {
        GgufTensorInfo info = gguf.tensorInfo(name).orElseThrow(() -> error(-1, "missing tensor " + name));
        if (!info.shape().equals(expected)) {
            throw error(info.infoOffset(), name + " has shape " + info.shape() + ", expected " + expected);
        }
        return gguf.tensor(name);
    }

    private ModelFormatException error(long offset, String problem) {
        return new ModelFormatException(gguf.path(), offset, problem);
    }
}
