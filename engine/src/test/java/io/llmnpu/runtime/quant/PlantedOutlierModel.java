package io.llmnpu.runtime.quant;

import io.llmnpu.api.tensor.Shape;
import io.llmnpu.runtime.model.gguf.GgufValueType;
import io.llmnpu.runtime.model.gguf.GgufWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * A synthetic Llama model with the outlier structure of trained LLMs ("massive activations") and
 * confident predictions that depend on its feed-forward networks, for testing quantized execution.
 * <ul>
 *   <li>Outliers: the embeddings of a share of the vocabulary carry {@code magnitude} times the typical
 *       value in {@code outlierChannels} fixed residual channels (zero for every other token), which no
 *       block writes to, so the residual stream carries them unchanged through the model. Each block's
 *       gate and up projections read those channels with a large weight into as many fixed hidden
 *       channels, so on the same tokens the input of the down projection reaches thousands of times its
 *       usual range, as in real models (where the largest absmax/p99.9 ratios sit at the down
 *       projections). Those hidden channels write back only weakly.</li>
 *   <li>Predictions: every feed-forward network also holds a bigram memory. Hidden unit j fires when the
 *       current token is j (its gate and up rows are token j's embedding, scaled) and writes the LM head
 *       row of a fixed successor of j, so the model predicts that successor with a clear margin.</li>
 * </ul>
 * Per-tensor INT8 activations with an absmax scale round the memory's activations at the down
 * projection to zero and lose the predictions; a clipped scale plus shadow outliers keeps them. All
 * other weights are random. Written as an F32 GGUF with a byte-level SentencePiece vocabulary
 * (control tokens, the 256 byte tokens, the space piece and printable ASCII), so any text can be
 * scored.
 *
 * @param dim             residual width
 * @param hiddenDim       feed-forward width
 * @param layers          transformer blocks
 * @param heads           query heads
 * @param kvHeads         key/value heads
 * @param context         context length
 * @param outlierChannels K, the number of outlier channels
 * @param magnitude       M, how many times the typical value the outliers are
 * @param tokenShare      share of the vocabulary whose embeddings carry the outliers (1 = every token)
 * @param seed            of the random weights
 */
public record PlantedOutlierModel(int dim, int hiddenDim, int layers, int heads, int kvHeads, int context,
                                  int outlierChannels, float magnitude, double tokenShare, long seed) {

    /** Spread of the LM head's random logits, in units of 1/sqrt(dim). */
    static final float HEAD_GAIN = 1f;
    /**
     * Length of what a firing memory unit writes into the residual stream (in units of its activation):
     * enough to lift the successor's logit about 7 above the rest, i.e. a model that is right about 80%
     * of the time on text that follows its bigrams 80% of the time.
     */
    static final float MEMORY_WRITE = 0.5f;
    /** Weight with which gate and up read a planted residual channel into its hidden channel. */
    static final float AMPLIFY = 8f;
    /** Gate (and up) value of a memory unit when its token is current: silu(3) * 3 is about 8.6. */
    static final float MEMORY_GATE = 3f;
    /** Scale of the attention output projection: attention only stirs the residual stream a little. */
    static final float ATTENTION_GAIN = 0.5f;
    /** Scale of the down projection's columns for the planted hidden channels, so they write back weakly. */
    static final float WRITE_BACK = 0.01f;

    public PlantedOutlierModel {
        if (dim % heads != 0 || heads % kvHeads != 0 || (dim / heads) % 2 != 0) {
            throw new IllegalArgumentException("dim must split into an even head width and heads into kv groups");
        }
        if (hiddenDim < vocabulary().size() + outlierChannels) {
            throw new IllegalArgumentException("hidden width " + hiddenDim + " cannot hold a memory unit per token ("
                    + vocabulary().size() + ") and " + outlierChannels + " outlier channels");
        }
        if (outlierChannels < 0 || outlierChannels > dim || !(magnitude > 0) || !(tokenShare >= 0 && tokenShare <= 1)) {
            throw new IllegalArgumentException("need 0 <= K <= dim, M > 0 and a token share in [0, 1]");
        }
    }

    /** K outlier channels of magnitude M on 2% of the vocabulary, in a small two-block model. */
    public static PlantedOutlierModel small(int outlierChannels, float magnitude) {
        return new PlantedOutlierModel(128, 384, 2, 4, 2, 256, outlierChannels, magnitude, 0.02, 20240607);
    }

    /** The vocabulary: {@code <unk> <s> </s>}, 256 byte tokens, the space piece, printable ASCII. */
    public static List<String> vocabulary() {
        List<String> tokens = new ArrayList<>(List.of("<unk>", "<s>", "</s>"));
        for (int b = 0; b < 256; b++) {
            tokens.add(String.format("<0x%02X>", b));
        }
        tokens.add("\u2581");
        for (char c = '!'; c <= '~'; c++) {
            tokens.add(String.valueOf(c));
        }
        return tokens;
    }

    public int vocabSize() {
        return vocabulary().size();
    }

    /** The outlier channels of the residual stream, sorted. */
    public int[] plantedChannels() {
        Random r = new Random(seed ^ 0x5EEDL);
        return r.ints(0, dim).distinct().limit(outlierChannels).toArray();
    }

    /** The hidden channels of the feed-forward network that planted channel i feeds (same order). */
    public int[] plantedHiddenChannels() {
        Random r = new Random(seed ^ 0xF00DL);
        return r.ints(vocabSize(), hiddenDim).distinct().limit(outlierChannels).toArray();
    }

    /**
     * Token sequences from BOS that follow the bigram memory with probability {@code follow} at each
     * step and otherwise take a random token: text on which the model's predictions are mostly right.
     */
    public java.util.List<int[]> bigramSequences(int count, int length, double follow, long sequenceSeed) {
        Random r = new Random(sequenceSeed);
        int vocab = vocabSize();
        java.util.List<int[]> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int[] s = new int[length];
            s[0] = 1;
            for (int t = 1; t < length; t++) {
                s[t] = t > 1 && r.nextDouble() < follow ? successor(s[t - 1]) : 3 + r.nextInt(vocab - 3);
            }
            out.add(s);
        }
        return out;
    }

    /** The token the bigram memory predicts after {@code id}. */
    public int successor(int id) {
        int n = vocabSize() - 3;
        return 3 + (int) Math.floorMod((long) (id - 3) * 7 + 11 + (seed % n), (long) n);
    }

    /** Whether token {@code id}'s embedding carries the outliers (never the control tokens). */
    public boolean planted(int id) {
        if (id < 3) {
            return false;
        }
        long h = (id * 0x9E3779B97F4A7C15L) ^ seed;
        h ^= h >>> 31;
        h *= 0xBF58476D1CE4E5B9L;
        h ^= h >>> 29;
        return (h >>> 11) * 0x1.0p-53 < tokenShare;
    }

    /** Writes the model as GGUF to {@code file} and returns the path. */
    public Path write(Path file) throws IOException {
        Random r = new Random(seed);
        List<String> tokens = vocabulary();
        int vocab = tokens.size();
        List<Float> scores = new ArrayList<>();
        List<Integer> types = new ArrayList<>();
        for (int i = 0; i < vocab; i++) {
            scores.add(i < 259 ? 0f : -(float) (i - 259));
            types.add(i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1);
        }
        int headDim = dim / heads;
        int kvDim = kvHeads * headDim;
        GgufWriter w = new GgufWriter()
                .putString("general.architecture", "llama")
                .putString("general.name", "planted-outliers-K" + outlierChannels + "-M" + magnitude)
                .putUInt32("llama.context_length", context)
                .putUInt32("llama.embedding_length", dim)
                .putUInt32("llama.feed_forward_length", hiddenDim)
                .putUInt32("llama.block_count", layers)
                .putUInt32("llama.attention.head_count", heads)
                .putUInt32("llama.attention.head_count_kv", kvHeads)
                .putUInt32("llama.rope.dimension_count", headDim)
                .putFloat32("llama.rope.freq_base", 10000f)
                .putFloat32("llama.attention.layer_norm_rms_epsilon", 1e-5f)
                .putString("tokenizer.ggml.model", "llama")
                .putArray("tokenizer.ggml.tokens", GgufValueType.STRING, tokens)
                .putArray("tokenizer.ggml.scores", GgufValueType.FLOAT32, scores)
                .putArray("tokenizer.ggml.token_type", GgufValueType.INT32, types)
                .putUInt32("tokenizer.ggml.bos_token_id", 1)
                .putUInt32("tokenizer.ggml.eos_token_id", 2)
                .putUInt32("tokenizer.ggml.unknown_token_id", 0)
                .putBool("tokenizer.ggml.add_bos_token", true);

        float[] embedding = gaussian(r, vocab * dim, 1f);
        float[] output = gaussian(r, vocab * dim, HEAD_GAIN * scale(dim));
        int[] channels = plantedChannels();
        int[] hidden = plantedHiddenChannels();
        for (int t = 0; t < vocab; t++) {
            for (int c : channels) {
                embedding[t * dim + c] = planted(t) ? magnitude : 0f;
            }
        }
        float[] ones = new float[dim];
        Arrays.fill(ones, 1f);
        w.addTensor("token_embd.weight", Shape.of(vocab, dim), embedding);
        for (int l = 0; l < layers; l++) {
            String b = "blk." + l + ".";
            float[] wo = gaussian(r, dim * dim, ATTENTION_GAIN * scale(dim));
            float[] gate = gaussian(r, hiddenDim * dim, scale(dim));
            float[] down = gaussian(r, dim * hiddenDim, scale(hiddenDim));
            float[] up = gaussian(r, hiddenDim * dim, scale(dim));
            for (int j = 0; j < vocab; j++) {
                writeMemoryUnit(j, embedding, output, channels, gate, up, down);
            }
            for (int i = 0; i < outlierChannels; i++) {
                int c = channels[i];
                int h = hidden[i];
                Arrays.fill(wo, c * dim, (c + 1) * dim, 0f); // nothing writes into a planted channel
                Arrays.fill(down, c * hiddenDim, (c + 1) * hiddenDim, 0f);
                gate[h * dim + c] = AMPLIFY;
                up[h * dim + c] = AMPLIFY;
                for (int row = 0; row < dim; row++) {
                    down[row * hiddenDim + h] *= WRITE_BACK;
                }
            }
            w.addTensor(b + "attn_norm.weight", Shape.of(dim), ones);
            w.addTensor(b + "attn_q.weight", Shape.of(dim, dim), gaussian(r, dim * dim, scale(dim)));
            w.addTensor(b + "attn_k.weight", Shape.of(kvDim, dim), gaussian(r, kvDim * dim, scale(dim)));
            w.addTensor(b + "attn_v.weight", Shape.of(kvDim, dim), gaussian(r, kvDim * dim, scale(dim)));
            w.addTensor(b + "attn_output.weight", Shape.of(dim, dim), wo);
            w.addTensor(b + "ffn_norm.weight", Shape.of(dim), ones);
            w.addTensor(b + "ffn_gate.weight", Shape.of(hiddenDim, dim), gate);
            w.addTensor(b + "ffn_down.weight", Shape.of(dim, hiddenDim), down);
            w.addTensor(b + "ffn_up.weight", Shape.of(hiddenDim, dim), up);
        }
        w.addTensor("output_norm.weight", Shape.of(dim), ones);
        w.addTensor("output.weight", Shape.of(vocab, dim), output);
        w.write(file);
        return file;
    }

    /**
     * Hidden unit j of a bigram memory: gate and up read token j's embedding (without the planted
     * channels), scaled so that both reach {@link #MEMORY_GATE} when the normed input is that embedding;
     * down writes the unit direction of the successor's LM head row.
     */
    private void writeMemoryUnit(int j, float[] embedding, float[] output, int[] planted, float[] gate, float[] up,
                                 float[] down) {
        float[] e = Arrays.copyOfRange(embedding, j * dim, (j + 1) * dim);
        for (int c : planted) {
            e[c] = 0;
        }
        double norm2 = 0;
        for (float v : e) {
            norm2 += v * v;
        }
        // The normed input is about e * sqrt(dim) / |e|, so e . input is about |e| * sqrt(dim).
        float k = (float) (MEMORY_GATE / (Math.sqrt(norm2) * Math.sqrt(dim)));
        for (int c = 0; c < dim; c++) {
            gate[j * dim + c] = k * e[c];
            up[j * dim + c] = k * e[c];
        }
        int next = successor(j);
        double outNorm = 0;
        for (int c = 0; c < dim; c++) {
            outNorm += output[next * dim + c] * output[next * dim + c];
        }
        float g = (float) (MEMORY_WRITE / Math.sqrt(outNorm));
        for (int c = 0; c < dim; c++) {
            down[c * hiddenDim + j] = g * output[next * dim + c];
        }
    }

    private static float scale(int fanIn) {
        return (float) (1 / Math.sqrt(fanIn));
    }

    private static float[] gaussian(Random r, int n, float std) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (r.nextGaussian() * std);
        }
        return out;
    }
}
