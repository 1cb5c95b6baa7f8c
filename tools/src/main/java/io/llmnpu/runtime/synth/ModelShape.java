package io.llmnpu.runtime.synth;

import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelFamily;
import io.llmnpu.runtime.model.ModelWeights;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The hyper-parameters of a model to synthesise: everything that decides tensor shapes and the
 * forward pass, nothing about the weights themselves. The architecture decides the tensors: a Llama
 * block, q/k/v biases for {@code qwen2}, fused q/k/v and gate/up for {@code phi3}, post-norms for
 * {@code gemma2}, LayerNorm biases and a GELU MLP for {@code phi2}.
 *
 * @param name          written as {@code general.name}
 * @param architecture  {@code general.architecture}, one llmnpu runs (see {@link ModelFamily})
 * @param dim           embedding width
 * @param hiddenDim     feed-forward width
 * @param layers        transformer blocks
 * @param heads         query heads
 * @param kvHeads       key/value heads
 * @param headSize      width of one head; 0 for dim / heads
 * @param rotary        leading dimensions of a head that RoPE turns; 0 for the whole head
 * @param vocabSize     tokens; at least {@link #MIN_VOCAB} (specials and the 256 byte tokens)
 * @param contextLength trained context length
 * @param ropeTheta     RoPE base frequency
 * @param rmsEps        normalisation epsilon
 * @param tiedOutput    true to store no {@code output.weight} (the embedding doubles as LM head)
 * @param slidingWindow attention window written to the file (0: none)
 * @param attnSoftCap   Gemma 2's attention logit soft cap (0: none)
 * @param finalSoftCap  Gemma 2's final logit soft cap (0: none)
 * @param ropeScaling   Llama 3.1's RoPE scaling factor, written as {@code rope_freqs.weight} (0: none)
 */
public record ModelShape(String name, String architecture, int dim, int hiddenDim, int layers, int heads,
                         int kvHeads, int headSize, int rotary, int vocabSize, int contextLength, float ropeTheta,
                         float rmsEps, boolean tiedOutput, int slidingWindow, float attnSoftCap, float finalSoftCap,
                         float ropeScaling) {

    /** {@code <unk>}, {@code <s>}, {@code </s>} and the 256 byte-fallback tokens. */
    public static final int MIN_VOCAB = 3 + 256;

    /** A tensor the shape needs: a matrix [rows, cols], or a vector of {@code cols} when {@code rows} is 0. */
    public record TensorSpec(String name, int rows, int cols, Kind kind) {
        /** What the values are: weights around 0, norm weights around 1, biases around 0, or RoPE factors. */
        public enum Kind { MATRIX, NORM, BIAS, ROPE_FACTORS }

        public long elements() {
            return (long) Math.max(1, rows) * cols;
        }
    }

    public ModelShape {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(architecture, "architecture");
        if (ModelFamily.architecture(architecture).isEmpty()) {
            throw new IllegalArgumentException("architecture '" + architecture + "' is not one llmnpu runs; known: "
                    + ModelFamily.names());
        }
        if (heads <= 0 || (headSize == 0 && dim % heads != 0)) {
            throw new IllegalArgumentException("dim " + dim + " is not a multiple of heads " + heads
                    + " (or give the head size)");
        }
        if (!(ropeScaling >= 0) || (ropeScaling > 0 && ModelFamily.architecture(architecture).orElseThrow().family()
                != ModelFamily.LLAMA)) {
            throw new IllegalArgumentException("Llama 3.1 RoPE scaling applies to Llama-family architectures only");
        }
        if (vocabSize < MIN_VOCAB) {
            throw new IllegalArgumentException("vocabulary of " + vocabSize + " tokens is too small: a SentencePiece"
                    + " vocabulary needs at least " + MIN_VOCAB + " (3 special and 256 byte tokens)");
        }
        // ModelConfig checks the remaining ranges (positive sizes, heads divisible by kv heads, even rotary dims, ...).
        config(architecture, dim, hiddenDim, layers, heads, kvHeads, headSize, rotary, vocabSize, contextLength,
                ropeTheta, rmsEps, slidingWindow, attnSoftCap, finalSoftCap);
    }

    /** A Llama-shaped model: head size dim / heads, RoPE on whole heads, no window or soft caps. */
    public ModelShape(String name, String architecture, int dim, int hiddenDim, int layers, int heads, int kvHeads,
                      int vocabSize, int contextLength, float ropeTheta, float rmsEps, boolean tiedOutput) {
        this(name, architecture, dim, hiddenDim, layers, heads, kvHeads, 0, 0, vocabSize, contextLength, ropeTheta,
                rmsEps, tiedOutput, 0, 0f, 0f, 0f);
    }

    /** Without Llama 3.1 RoPE scaling. */
    public ModelShape(String name, String architecture, int dim, int hiddenDim, int layers, int heads, int kvHeads,
                      int headSize, int rotary, int vocabSize, int contextLength, float ropeTheta, float rmsEps,
                      boolean tiedOutput, int slidingWindow, float attnSoftCap, float finalSoftCap) {
        this(name, architecture, dim, hiddenDim, layers, heads, kvHeads, headSize, rotary, vocabSize, contextLength,
                ropeTheta, rmsEps, tiedOutput, slidingWindow, attnSoftCap, finalSoftCap, 0f);
    }

    /** Original context length of Llama 3.1's RoPE scaling. */
    private static final double LLAMA31_ORIGINAL_CONTEXT = 8192;
    private static final double LLAMA31_LOW_FREQ_FACTOR = 1;
    private static final double LLAMA31_HIGH_FREQ_FACTOR = 4;

    /**
     * The {@code rope_freqs.weight} values Llama 3.1's converter writes for this shape: 1 for
     * wavelengths below 8192/4 positions, {@code ropeScaling} above 8192, a smooth blend between.
     */
    public float[] ropeFactors() {
        int pairs = rotaryDims() / 2;
        float[] f = new float[pairs];
        double lowWavelen = LLAMA31_ORIGINAL_CONTEXT / LLAMA31_LOW_FREQ_FACTOR;
        double highWavelen = LLAMA31_ORIGINAL_CONTEXT / LLAMA31_HIGH_FREQ_FACTOR;
        for (int i = 0; i < pairs; i++) {
            double wavelen = 2 * Math.PI * Math.pow(ropeTheta, 2.0 * i / rotaryDims());
            if (wavelen < highWavelen) {
                f[i] = 1;
            } else if (wavelen > lowWavelen) {
                f[i] = ropeScaling;
            } else {
                double smooth = (LLAMA31_ORIGINAL_CONTEXT / wavelen - LLAMA31_LOW_FREQ_FACTOR)
                        / (LLAMA31_HIGH_FREQ_FACTOR - LLAMA31_LOW_FREQ_FACTOR);
                f[i] = (float) (1 / ((1 - smooth) / ropeScaling + smooth));
            }
        }
        return f;
    }

    public ModelFamily family() {
        return ModelFamily.architecture(architecture).orElseThrow().family();
    }

    public int headDim() {
        return headSize > 0 ? headSize : dim / heads;
    }

    public int rotaryDims() {
        return rotary > 0 ? rotary : headDim();
    }

    public int qDim() {
        return heads * headDim();
    }

    public int kvDim() {
        return kvHeads * headDim();
    }

    /** How readers of the file will see it. */
    public ModelConfig toConfig() {
        return config(architecture, dim, hiddenDim, layers, heads, kvHeads, headSize, rotary, vocabSize, contextLength,
                ropeTheta, rmsEps, slidingWindow, attnSoftCap, finalSoftCap);
    }

    private static ModelConfig config(String architecture, int dim, int hiddenDim, int layers, int heads, int kvHeads,
                                      int headSize, int rotary, int vocabSize, int contextLength, float ropeTheta,
                                      float rmsEps, int window, float attnCap, float finalCap) {
        ModelFamily.Architecture a = ModelFamily.architecture(architecture).orElseThrow();
        int head = headSize > 0 ? headSize : dim / heads;
        return new ModelConfig(architecture, dim, hiddenDim, layers, heads, kvHeads, head, vocabSize, contextLength,
                rotary > 0 ? rotary : head, ropeTheta, a.ropeStyle(), rmsEps, window, attnCap, finalCap);
    }

    /** Every tensor of the model, in llama.cpp's file order. */
    public List<TensorSpec> tensors() {
        int d = dim;
        int q = qDim();
        int kv = kvDim();
        int h = hiddenDim;
        ModelFamily family = family();
        boolean fused = architecture.equals("phi3") || family == ModelFamily.PHI2;
        boolean qkvBias = architecture.equals("qwen2") || family == ModelFamily.PHI2;
        List<TensorSpec> t = new ArrayList<>();
        if (ropeScaling > 0) {
            t.add(new TensorSpec(ModelWeights.ROPE_FREQS, 0, rotaryDims() / 2, TensorSpec.Kind.ROPE_FACTORS));
        }
        t.add(matrix("token_embd.weight", vocabSize, d));
        for (int l = 0; l < layers; l++) {
            String b = "blk." + l + ".";
            t.add(vector(b + "attn_norm.weight", d, TensorSpec.Kind.NORM));
            if (family == ModelFamily.PHI2) {
                t.add(vector(b + "attn_norm.bias", d, TensorSpec.Kind.BIAS));
            }
            if (fused) {
                t.add(matrix(b + "attn_qkv.weight", q + 2 * kv, d));
                if (qkvBias) {
                    t.add(vector(b + "attn_qkv.bias", q + 2 * kv, TensorSpec.Kind.BIAS));
                }
            } else {
                t.add(matrix(b + "attn_q.weight", q, d));
                t.add(matrix(b + "attn_k.weight", kv, d));
                t.add(matrix(b + "attn_v.weight", kv, d));
                if (qkvBias) {
                    t.add(vector(b + "attn_q.bias", q, TensorSpec.Kind.BIAS));
                    t.add(vector(b + "attn_k.bias", kv, TensorSpec.Kind.BIAS));
                    t.add(vector(b + "attn_v.bias", kv, TensorSpec.Kind.BIAS));
                }
            }
            t.add(matrix(b + "attn_output.weight", d, q));
            if (family == ModelFamily.PHI2) {
                t.add(vector(b + "attn_output.bias", d, TensorSpec.Kind.BIAS));
                t.add(matrix(b + "ffn_up.weight", h, d));
                t.add(vector(b + "ffn_up.bias", h, TensorSpec.Kind.BIAS));
                t.add(matrix(b + "ffn_down.weight", d, h));
                t.add(vector(b + "ffn_down.bias", d, TensorSpec.Kind.BIAS));
                continue;
            }
            if (family == ModelFamily.GEMMA2) {
                t.add(vector(b + "post_attention_norm.weight", d, TensorSpec.Kind.NORM));
            }
            t.add(vector(b + "ffn_norm.weight", d, TensorSpec.Kind.NORM));
            if (fused) {
                t.add(matrix(b + "ffn_up.weight", 2 * h, d));
                t.add(matrix(b + "ffn_down.weight", d, h));
            } else {
                t.add(matrix(b + "ffn_gate.weight", h, d));
                t.add(matrix(b + "ffn_down.weight", d, h));
                t.add(matrix(b + "ffn_up.weight", h, d));
            }
            if (family == ModelFamily.GEMMA2) {
                t.add(vector(b + "post_ffw_norm.weight", d, TensorSpec.Kind.NORM));
            }
        }
        t.add(vector("output_norm.weight", d, TensorSpec.Kind.NORM));
        if (family == ModelFamily.PHI2) {
            t.add(vector("output_norm.bias", d, TensorSpec.Kind.BIAS));
        }
        if (!tiedOutput) {
            t.add(matrix("output.weight", vocabSize, d));
            if (family == ModelFamily.PHI2) {
                t.add(vector("output.bias", vocabSize, TensorSpec.Kind.BIAS));
            }
        }
        return t;
    }

    private static TensorSpec matrix(String name, int rows, int cols) {
        return new TensorSpec(name, rows, cols, TensorSpec.Kind.MATRIX);
    }

    private static TensorSpec vector(String name, int size, TensorSpec.Kind kind) {
        return new TensorSpec(name, 0, size, kind);
    }

    /** Values in all tensors (norms and biases included). */
    public long parameterCount() {
        return tensors().stream().mapToLong(TensorSpec::elements).sum();
    }

    public ModelShape withName(String n) {
        return new ModelShape(n, architecture, dim, hiddenDim, layers, heads, kvHeads, headSize, rotary, vocabSize,
                contextLength, ropeTheta, rmsEps, tiedOutput, slidingWindow, attnSoftCap, finalSoftCap, ropeScaling);
    }

    /**
     * The same sizes as another architecture. Going to or from Phi-2 (which lacks an FFN gate) keeps
     * the widths; soft caps and windows are kept for Gemma 2 and dropped elsewhere.
     */
    public ModelShape withArchitecture(String a) {
        boolean gemma2 = ModelFamily.architecture(a).map(x -> x.family() == ModelFamily.GEMMA2).orElse(false);
        return new ModelShape(name, a, dim, hiddenDim, layers, heads, kvHeads, headSize, rotary, vocabSize,
                contextLength, ropeTheta, rmsEps, tiedOutput, gemma2 || a.equals("phi3") || a.equals("mistral")
                ? slidingWindow : 0, gemma2 ? attnSoftCap : 0f, gemma2 ? finalSoftCap : 0f,
                ModelFamily.architecture(a).map(x -> x.family() == ModelFamily.LLAMA).orElse(false) ? ropeScaling : 0f);
    }

    public ModelShape withDim(int d) {
        return new ModelShape(name, architecture, d, hiddenDim, layers, heads, kvHeads, headSize, rotary, vocabSize,
                contextLength, ropeTheta, rmsEps, tiedOutput, slidingWindow, attnSoftCap, finalSoftCap, ropeScaling);
    }

    public ModelShape withHiddenDim(int h) {
        return new ModelShape(name, architecture, dim, h, layers, heads, kvHeads, headSize, rotary, vocabSize,
                contextLength, ropeTheta, rmsEps, tiedOutput, slidingWindow, attnSoftCap, finalSoftCap, ropeScaling);
    }

    public ModelShape withLayers(int l) {
        return new ModelShape(name, architecture, dim, hiddenDim, l, heads, kvHeads, headSize, rotary, vocabSize,
                contextLength, ropeTheta, rmsEps, tiedOutput, slidingWindow, attnSoftCap, finalSoftCap, ropeScaling);
    }

    /** Sets query and key/value heads together, since changing one alone easily breaks divisibility. */
    public ModelShape withHeads(int h, int kv) {
        return new ModelShape(name, architecture, dim, hiddenDim, layers, h, kv, headSize, rotary, vocabSize,
                contextLength, ropeTheta, rmsEps, tiedOutput, slidingWindow, attnSoftCap, finalSoftCap, ropeScaling);
    }

    /** Head size and rotary dimensions; 0 for their defaults (dim / heads, the whole head). */
    public ModelShape withHeadSize(int size, int rotaryDims) {
        return new ModelShape(name, architecture, dim, hiddenDim, layers, heads, kvHeads, size, rotaryDims, vocabSize,
                contextLength, ropeTheta, rmsEps, tiedOutput, slidingWindow, attnSoftCap, finalSoftCap, ropeScaling);
    }

    public ModelShape withVocabSize(int v) {
        return new ModelShape(name, architecture, dim, hiddenDim, layers, heads, kvHeads, headSize, rotary, v,
                contextLength, ropeTheta, rmsEps, tiedOutput, slidingWindow, attnSoftCap, finalSoftCap, ropeScaling);
    }

    public ModelShape withContextLength(int c) {
        return new ModelShape(name, architecture, dim, hiddenDim, layers, heads, kvHeads, headSize, rotary, vocabSize,
                c, ropeTheta, rmsEps, tiedOutput, slidingWindow, attnSoftCap, finalSoftCap, ropeScaling);
    }

    public ModelShape withRopeTheta(float t) {
        return new ModelShape(name, architecture, dim, hiddenDim, layers, heads, kvHeads, headSize, rotary, vocabSize,
                contextLength, t, rmsEps, tiedOutput, slidingWindow, attnSoftCap, finalSoftCap, ropeScaling);
    }

    public ModelShape withRmsEps(float e) {
        return new ModelShape(name, architecture, dim, hiddenDim, layers, heads, kvHeads, headSize, rotary, vocabSize,
                contextLength, ropeTheta, e, tiedOutput, slidingWindow, attnSoftCap, finalSoftCap, ropeScaling);
    }

    public ModelShape withTiedOutput(boolean tied) {
        return new ModelShape(name, architecture, dim, hiddenDim, layers, heads, kvHeads, headSize, rotary, vocabSize,
                contextLength, ropeTheta, rmsEps, tied, slidingWindow, attnSoftCap, finalSoftCap, ropeScaling);
    }

    /** Llama 3.1 RoPE scaling by {@code factor} through {@code rope_freqs.weight} (0: none). */
    public ModelShape withRopeScaling(float factor) {
        return new ModelShape(name, architecture, dim, hiddenDim, layers, heads, kvHeads, headSize, rotary, vocabSize,
                contextLength, ropeTheta, rmsEps, tiedOutput, slidingWindow, attnSoftCap, finalSoftCap, factor);
    }

    /** Sliding window and soft caps (0: none). */
    public ModelShape withAttention(int window, float attnCap, float finalCap) {
        return new ModelShape(name, architecture, dim, hiddenDim, layers, heads, kvHeads, headSize, rotary, vocabSize,
                contextLength, ropeTheta, rmsEps, tiedOutput, window, attnCap, finalCap, ropeScaling);
    }
}
