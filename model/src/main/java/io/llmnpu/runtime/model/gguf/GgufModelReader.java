package io.llmnpu.runtime.model.gguf;

import io.llmnpu.api.graph.RopeStyle;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.LayerWeights;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelFamily;
import io.llmnpu.runtime.model.ModelFormat;
import io.llmnpu.runtime.model.ModelFormatException;
import io.llmnpu.runtime.model.ModelWeights;
import io.llmnpu.runtime.model.ParsedModel;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a decoder-only transformer (hyper-parameters and weights) from a {@link GgufFile}, for the
 * architectures of {@link ModelFamily}.
 *
 * <p>Only files whose computation their family's graph fully describes are accepted: every tensor
 * must be one the graph uses, so a model with extra parts (q/k norms, experts, unknown biases) fails
 * with a message naming the tensor instead of silently producing wrong output, and architectures that
 * differ in ways their tensors do not show (Granite's multipliers, ...) are rejected by name. Every
 * tensor's shape is checked against the configuration. Fused tensors are split into their parts
 * here, as row slices of the mapped file: {@code attn_qkv} (weight and bias) into q, k and v, and a
 * Phi-3 {@code ffn_up} of twice the FFN width into gate (first half) and up (second half).
 */
public final class GgufModelReader {
    /** Llama-shaped architectures whose computation differs in ways that are not visible in their tensors. */
    private static final Map<String, String> HIDDEN_DIFFERENCES = Map.of(
            "gemma3", "uses extra q/k norms, local and global RoPE bases and a sliding-window pattern of 6",
            "granite", "applies embedding, residual, attention and logit multipliers",
            "minicpm", "applies embedding and residual scales",
            "command-r", "uses layer norm with parallel attention and a logit scale",
            "cohere2", "uses layer norm with parallel attention and a logit scale",
            "grok", "applies embedding and output multipliers");
    /** Gemma 2's sliding window when its file does not state one (its reference value). */
    private static final int GEMMA2_DEFAULT_WINDOW = 4096;
    private static final float GEMMA2_DEFAULT_ATTN_CAP = 50f;
    private static final float GEMMA2_DEFAULT_FINAL_CAP = 30f;

    private static final Pattern LAYER_TENSOR = Pattern.compile("blk\\.(\\d+)\\.(.+)");
    private static final String QKV = "attn_qkv.weight";
    private static final String QKV_BIAS = "attn_qkv.bias";

    private final GgufFile gguf;

    private GgufModelReader(GgufFile gguf) {
        this.gguf = gguf;
    }

    /**
     * Reads the configuration and maps the weights of a GGUF model.
     *
     * @throws ModelFormatException if keys or tensors are missing, mistyped or inconsistent, or the
     *                              architecture is not one llmnpu runs
     */
    public static ParsedModel read(GgufFile gguf) {
        return new GgufModelReader(gguf).read();
    }

    /** The RoPE pairing llama.cpp uses for {@code architecture}, or empty if it is not a supported one. */
    public static Optional<RopeStyle> ropeStyle(String architecture) {
        return ModelFamily.architecture(architecture).map(ModelFamily.Architecture::ropeStyle);
    }

    private ParsedModel read() {
        String arch = gguf.getString("general.architecture");
        String hidden = HIDDEN_DIFFERENCES.get(arch);
        if (hidden != null) {
            throw error(gguf.keyOffset("general.architecture"), "architecture " + arch + " is not supported: it " + hidden);
        }
        ModelFamily.Architecture architecture = ModelFamily.architecture(arch).orElseThrow(() -> error(
                gguf.keyOffset("general.architecture"), "unknown or unsupported architecture \"" + arch
                        + "\" (supported, by family: " + ModelFamily.names() + ")"));
        if (!gguf.hasTensor("token_embd.weight")) {
            throw error(-1, "architecture " + arch + " is not stored as a transformer model: tensor token_embd.weight is missing");
        }
        if (!gguf.hasTensor("blk.0.attn_q.weight") && !gguf.hasTensor("blk.0." + QKV)) {
            throw error(-1, "architecture " + arch + " is not stored as a transformer model: tensor blk.0.attn_q.weight"
                    + " (or blk.0." + QKV + ") is missing");
        }
        ModelConfig config = readConfig(architecture);
        checkNoUnusedTensors(config, architecture.family());
        return new ParsedModel(gguf.path(), ModelFormat.GGUF, config, readWeights(config, architecture.family()));
    }

    private ModelConfig readConfig(ModelFamily.Architecture architecture) {
        String arch = architecture.name();
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
        ModelFamily family = architecture.family();
        float normEps = gguf.optFloat(p + family.normEpsilonKey()).orElse(1e-5f);
        checkNoRopeScaling(p);
        int vocabSize = vocabSize(p);
        int window = gguf.optInt(p + "attention.sliding_window")
                .orElse(family == ModelFamily.GEMMA2 ? GEMMA2_DEFAULT_WINDOW : 0);
        if (window < 0) {
            throw error(gguf.keyOffset(p + "attention.sliding_window"), p + "attention.sliding_window = " + window
                    + " must not be negative");
        }
        float attnCap = 0f;
        float finalCap = 0f;
        if (family == ModelFamily.GEMMA2) {
            attnCap = gguf.optFloat(p + "attn_logit_softcapping").orElse(GEMMA2_DEFAULT_ATTN_CAP);
            finalCap = gguf.optFloat(p + "final_logit_softcapping").orElse(GEMMA2_DEFAULT_FINAL_CAP);
        }
        try {
            return new ModelConfig(arch, dim, hiddenDim, layers, heads, kvHeads, headDim, vocabSize, contextLength,
                    rotaryDims, ropeTheta, architecture.ropeStyle(), normEps, window, attnCap, finalCap);
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

    /** Block parts the family's graph can use, fused forms included. */
    private static Set<String> knownParts(ModelFamily family) {
        Set<String> parts = new HashSet<>(family.requiredParts());
        parts.addAll(family.optionalParts());
        parts.addAll(Set.of(LayerWeights.WQ, LayerWeights.WK, LayerWeights.WV, QKV));
        if (parts.contains(LayerWeights.BQ)) {
            parts.add(QKV_BIAS);
        }
        return parts;
    }

    /** Every tensor must be one the family's graph uses; anything else would be silently ignored. */
    private void checkNoUnusedTensors(ModelConfig config, ModelFamily family) {
        Set<String> known = new HashSet<>(Set.of("token_embd.weight", "output_norm.weight", "output.weight"));
        known.addAll(family.modelExtras());
        Set<String> parts = knownParts(family);
        for (GgufTensorInfo info : gguf.tensorInfos()) {
            String name = info.name();
            if (known.contains(name)) {
                continue;
            }
            Matcher m = LAYER_TENSOR.matcher(name);
            if (m.matches() && parts.contains(m.group(2)) && m.group(1).length() <= 9
                    && Integer.parseInt(m.group(1)) < config.layers()) {
                continue;
            }
            throw error(info.infoOffset(), "tensor " + name + " is not part of the " + family + " graph (architecture "
                    + config.architecture() + ", " + config.layers() + " blocks); the model needs computation llmnpu does not run");
        }
    }

    private ModelWeights readWeights(ModelConfig c, ModelFamily family) {
        Tensor embedding = matrix("token_embd.weight", c.vocabSize(), c.dim());
        List<LayerWeights> layers = new ArrayList<>(); // block_count is untrusted until its tensors are found
        for (int i = 0; i < c.layers(); i++) {
            layers.add(readLayer(c, family, i));
        }
        Tensor finalNorm = norm("output_norm.weight", c.dim());
        // Tied models store no output.weight; the embedding table doubles as the LM head.
        Tensor output = gguf.hasTensor("output.weight") ? matrix("output.weight", c.vocabSize(), c.dim()) : embedding;
        Map<String, Tensor> extra = new LinkedHashMap<>();
        for (String name : family.modelExtras()) {
            if (gguf.hasTensor(name)) {
                int size = switch (name) {
                    case ModelWeights.OUTPUT_BIAS -> c.vocabSize();
                    case ModelWeights.ROPE_FREQS -> c.rotaryDims() / 2;
                    default -> c.dim();
                };
                extra.put(name, norm(name, size));
            }
        }
        return new ModelWeights(embedding, layers, finalNorm, output, extra);
    }

    private LayerWeights readLayer(ModelConfig c, ModelFamily family, int layer) {
        String b = "blk." + layer + ".";
        Map<String, Tensor> parts = new LinkedHashMap<>();
        Set<String> wanted = new HashSet<>(family.requiredParts());
        wanted.addAll(family.optionalParts());
        for (String part : wanted) {
            if (!gguf.hasTensor(b + part) || isFusedUp(c, family, b, part)) {
                continue;
            }
            parts.put(part, part.endsWith(".bias") || part.contains("norm")
                    ? norm(b + part, vectorSize(c, part))
                    : matrix(b + part, matrixRows(c, part), part.equals(LayerWeights.FFN_DOWN) ? c.hiddenDim()
                            : part.equals(LayerWeights.WO) ? c.qDim() : c.dim()));
        }
        readQkv(c, b, parts);
        if (family == ModelFamily.LLAMA && !parts.containsKey(LayerWeights.FFN_GATE)) {
            splitFusedUp(c, b, parts);
        }
        for (String part : family.requiredParts()) {
            if (!parts.containsKey(part)) {
                throw error(-1, "missing tensor " + b + part);
            }
        }
        return new LayerWeights(parts);
    }

    /** Phi-3 stores gate and up as one ffn_up of twice the FFN width; it is read by {@link #splitFusedUp}. */
    private boolean isFusedUp(ModelConfig c, ModelFamily family, String b, String part) {
        if (family != ModelFamily.LLAMA || !part.equals(LayerWeights.FFN_UP) || gguf.hasTensor(b + LayerWeights.FFN_GATE)) {
            return false;
        }
        // Absent too (a damaged file): not fused, so the caller reports the missing gate.
        return gguf.tensorInfo(b + part)
                .map(info -> info.shape().rank() == 2 && info.shape().dim(0) == 2L * c.hiddenDim())
                .orElse(false);
    }

    /** q, k and v: stored apart, or fused into attn_qkv (rows q, then k, then v), with or without biases. */
    private void readQkv(ModelConfig c, String b, Map<String, Tensor> parts) {
        boolean fused = gguf.hasTensor(b + QKV);
        boolean apart = gguf.hasTensor(b + LayerWeights.WQ) || gguf.hasTensor(b + LayerWeights.WK)
                || gguf.hasTensor(b + LayerWeights.WV);
        if (fused && apart) {
            throw error(-1, "block " + b + " has both " + b + QKV + " and separate q/k/v projections");
        }
        if (!fused) {
            parts.put(LayerWeights.WQ, matrix(b + LayerWeights.WQ, c.qDim(), c.dim()));
            parts.put(LayerWeights.WK, matrix(b + LayerWeights.WK, c.kvDim(), c.dim()));
            parts.put(LayerWeights.WV, matrix(b + LayerWeights.WV, c.kvDim(), c.dim()));
            return;
        }
        if (parts.containsKey(LayerWeights.BQ) || parts.containsKey(LayerWeights.BK) || parts.containsKey(LayerWeights.BV)) {
            throw error(-1, "block " + b + " has a fused " + QKV + " but separate q/k/v biases");
        }
        int[] rows = {c.qDim(), c.kvDim(), c.kvDim()};
        Tensor qkv = matrix(b + QKV, c.qDim() + 2 * c.kvDim(), c.dim());
        List<Tensor> w = rowSlices(qkv, rows, new String[] {"q", "k", "v"});
        parts.put(LayerWeights.WQ, w.get(0));
        parts.put(LayerWeights.WK, w.get(1));
        parts.put(LayerWeights.WV, w.get(2));
        if (gguf.hasTensor(b + QKV_BIAS)) {
            Tensor bias = norm(b + QKV_BIAS, c.qDim() + 2 * c.kvDim());
            List<Tensor> biases = rowSlices(bias.dtype(), bias, rows, new String[] {"q", "k", "v"});
            parts.put(LayerWeights.BQ, biases.get(0));
            parts.put(LayerWeights.BK, biases.get(1));
            parts.put(LayerWeights.BV, biases.get(2));
        }
    }

    /** A Phi-3 ffn_up [2 * hidden, dim]: SwiGLU of its two halves, the first the gate, the second the up projection. */
    private void splitFusedUp(ModelConfig c, String b, Map<String, Tensor> parts) {
        if (!isFusedUp(c, ModelFamily.LLAMA, b, LayerWeights.FFN_UP)) {
            throw error(-1, "missing tensor " + b + LayerWeights.FFN_GATE + " (and " + b + LayerWeights.FFN_UP
                    + " is not a fused gate and up projection of " + 2 * c.hiddenDim() + " rows)");
        }
        Tensor fused = matrix(b + LayerWeights.FFN_UP, 2 * c.hiddenDim(), c.dim());
        List<Tensor> halves = rowSlices(fused, new int[] {c.hiddenDim(), c.hiddenDim()}, new String[] {"gate", "up"});
        parts.put(LayerWeights.FFN_GATE, halves.get(0));
        parts.put(LayerWeights.FFN_UP, halves.get(1));
    }

    /** Consecutive row blocks of a matrix as views of the same memory (whole rows, so whole quantization blocks). */
    private static List<Tensor> rowSlices(Tensor matrix, int[] rows, String[] names) {
        List<Tensor> out = new ArrayList<>();
        long rowBytes = matrix.dtype().byteSize(matrix.shape().dim(1));
        long offset = 0;
        for (int i = 0; i < rows.length; i++) {
            long bytes = rowBytes * rows[i];
            out.add(new Tensor(matrix.name() + "[" + names[i] + "]", matrix.dtype(),
                    Shape.of(rows[i], matrix.shape().dim(1)), matrix.data().asSlice(offset, bytes)));
            offset += bytes;
        }
        return out;
    }

    /** Consecutive pieces of a vector as views. */
    private static List<Tensor> rowSlices(DType dtype, Tensor vector, int[] sizes, String[] names) {
        List<Tensor> out = new ArrayList<>();
        long offset = 0;
        for (int i = 0; i < sizes.length; i++) {
            long bytes = dtype.byteSize(sizes[i]);
            out.add(new Tensor(vector.name() + "[" + names[i] + "]", dtype, Shape.of(sizes[i]),
                    vector.data().asSlice(offset, bytes)));
            offset += bytes;
        }
        return out;
    }

    private static int vectorSize(ModelConfig c, String part) {
        return switch (part) {
            case LayerWeights.BQ -> c.qDim();
            case LayerWeights.BK, LayerWeights.BV -> c.kvDim();
            case LayerWeights.FFN_GATE_BIAS, LayerWeights.FFN_UP_BIAS -> c.hiddenDim();
            default -> c.dim();
        };
    }

    private static int matrixRows(ModelConfig c, String part) {
        return switch (part) {
            case LayerWeights.FFN_GATE, LayerWeights.FFN_UP -> c.hiddenDim();
            case LayerWeights.WK, LayerWeights.WV -> c.kvDim();
            case LayerWeights.WQ -> c.qDim();
            default -> c.dim();
        };
    }

    private Tensor matrix(String name, int rows, int cols) {
        return checked(name, Shape.of(rows, cols));
    }

    private Tensor norm(String name, int size) {
        Tensor t = checked(name, Shape.of(size));
        if (t.dtype() != DType.F32) {
            throw error(gguf.tensorInfo(name).orElseThrow().infoOffset(), name + " is " + t.dtype()
                    + "; norm weights and biases must be F32");
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
