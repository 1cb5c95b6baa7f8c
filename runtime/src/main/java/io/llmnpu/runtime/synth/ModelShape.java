package io.llmnpu.runtime.synth;

import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.gguf.GgufModelReader;
import io.llmnpu.api.graph.RopeStyle;
import java.util.Objects;

/**
 * The hyper-parameters of a Llama-family model to synthesise: everything that decides tensor shapes
 * and the forward pass, nothing about the weights themselves.
 *
 * @param name          written as {@code general.name}
 * @param architecture  {@code general.architecture}; decides the key prefix and the RoPE pairing
 *                      readers use (llama: adjacent pairs)
 * @param dim           embedding width
 * @param hiddenDim     feed-forward width
 * @param layers        transformer blocks
 * @param heads         query heads
 * @param kvHeads       key/value heads
 * @param vocabSize     tokens; at least {@link #MIN_VOCAB} (specials and the 256 byte tokens)
 * @param contextLength trained context length
 * @param ropeTheta     RoPE base frequency
 * @param rmsEps        RMSNorm epsilon
 * @param tiedOutput    true to store no {@code output.weight} (the embedding doubles as LM head)
 */
public record ModelShape(String name, String architecture, int dim, int hiddenDim, int layers, int heads,
                         int kvHeads, int vocabSize, int contextLength, float ropeTheta, float rmsEps,
                         boolean tiedOutput) {

    /** {@code <unk>}, {@code <s>}, {@code </s>} and the 256 byte-fallback tokens. */
    public static final int MIN_VOCAB = 3 + 256;

    public ModelShape {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(architecture, "architecture");
        if (GgufModelReader.ropeStyle(architecture).isEmpty()) {
            throw new IllegalArgumentException("architecture '" + architecture
                    + "' is not one llmnpu reads as a Llama-family model (e.g. llama, mistral, qwen2)");
        }
        if (heads <= 0 || dim % heads != 0) {
            throw new IllegalArgumentException("dim " + dim + " is not a multiple of heads " + heads);
        }
        if ((dim / heads) % 2 != 0) {
            throw new IllegalArgumentException("head size " + dim / heads + " must be even for RoPE");
        }
        if (vocabSize < MIN_VOCAB) {
            throw new IllegalArgumentException("vocabulary of " + vocabSize + " tokens is too small: a SentencePiece"
                    + " vocabulary needs at least " + MIN_VOCAB + " (3 special and 256 byte tokens)");
        }
        // ModelConfig checks the remaining ranges (positive sizes, heads divisible by kv heads, ...).
        config(architecture, dim, hiddenDim, layers, heads, kvHeads, vocabSize, contextLength, ropeTheta, rmsEps);
    }

    public int headDim() {
        return dim / heads;
    }

    public int kvDim() {
        return kvHeads * headDim();
    }

    /** How readers of the file will see it. */
    public ModelConfig toConfig() {
        return config(architecture, dim, hiddenDim, layers, heads, kvHeads, vocabSize, contextLength, ropeTheta, rmsEps);
    }

    private static ModelConfig config(String architecture, int dim, int hiddenDim, int layers, int heads, int kvHeads,
                                      int vocabSize, int contextLength, float ropeTheta, float rmsEps) {
        RopeStyle style = GgufModelReader.ropeStyle(architecture).orElseThrow();
        return new ModelConfig(architecture, dim, hiddenDim, layers, heads, kvHeads, dim / heads, vocabSize,
                contextLength, dim / heads, ropeTheta, style, rmsEps);
    }

    /** Values in all tensors (norms included). */
    public long parameterCount() {
        long perLayer = 2L * dim + (long) dim * dim * 2 + 2L * dim * kvDim() + 3L * dim * hiddenDim;
        return perLayer * layers + (long) vocabSize * dim * (tiedOutput ? 1 : 2) + dim;
    }

    public ModelShape withName(String n) {
        return new ModelShape(n, architecture, dim, hiddenDim, layers, heads, kvHeads, vocabSize, contextLength, ropeTheta, rmsEps, tiedOutput);
    }

    public ModelShape withArchitecture(String a) {
        return new ModelShape(name, a, dim, hiddenDim, layers, heads, kvHeads, vocabSize, contextLength, ropeTheta, rmsEps, tiedOutput);
    }

    public ModelShape withDim(int d) {
        return new ModelShape(name, architecture, d, hiddenDim, layers, heads, kvHeads, vocabSize, contextLength, ropeTheta, rmsEps, tiedOutput);
    }

    public ModelShape withHiddenDim(int h) {
        return new ModelShape(name, architecture, dim, h, layers, heads, kvHeads, vocabSize, contextLength, ropeTheta, rmsEps, tiedOutput);
    }

    public ModelShape withLayers(int l) {
        return new ModelShape(name, architecture, dim, hiddenDim, l, heads, kvHeads, vocabSize, contextLength, ropeTheta, rmsEps, tiedOutput);
    }

    /** Sets query and key/value heads together, since changing one alone easily breaks divisibility. */
    public ModelShape withHeads(int h, int kv) {
        return new ModelShape(name, architecture, dim, hiddenDim, layers, h, kv, vocabSize, contextLength, ropeTheta, rmsEps, tiedOutput);
    }

    public ModelShape withVocabSize(int v) {
        return new ModelShape(name, architecture, dim, hiddenDim, layers, heads, kvHeads, v, contextLength, ropeTheta, rmsEps, tiedOutput);
    }

    public ModelShape withContextLength(int c) {
        return new ModelShape(name, architecture, dim, hiddenDim, layers, heads, kvHeads, vocabSize, c, ropeTheta, rmsEps, tiedOutput);
    }

    public ModelShape withRopeTheta(float t) {
        return new ModelShape(name, architecture, dim, hiddenDim, layers, heads, kvHeads, vocabSize, contextLength, t, rmsEps, tiedOutput);
    }

    public ModelShape withRmsEps(float e) {
        return new ModelShape(name, architecture, dim, hiddenDim, layers, heads, kvHeads, vocabSize, contextLength, ropeTheta, e, tiedOutput);
    }

    public ModelShape withTiedOutput(boolean tied) {
        return new ModelShape(name, architecture, dim, hiddenDim, layers, heads, kvHeads, vocabSize, contextLength, ropeTheta, rmsEps, tied);
    }
}
