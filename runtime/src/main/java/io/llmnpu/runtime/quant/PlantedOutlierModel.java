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
 * A random-weight Llama model whose residual stream carries outliers in a few fixed channels, the way
 * trained LLMs carry "massive activations": the embeddings of a share of the vocabulary put
 * {@code magnitude} times the typical value into {@code outlierChannels} channels, and the residual
 * connections carry them through every block. Per-tensor INT8 activations then lose everything else
 * under an absmax scale, while a clipped scale plus shadow outliers keeps it, which makes such models
 * a sharp test of quantized execution. Written as an F32 GGUF with a byte-level SentencePiece
 * vocabulary (control tokens, the 256 byte tokens, the space piece and printable ASCII), so any text
 * can be scored.
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

    /** Logit spread of the LM head, in units of 1/sqrt(dim): confident enough that top-1 is meaningful. */
    static final float HEAD_GAIN = 5f;

    public PlantedOutlierModel {
        if (dim % heads != 0 || heads % kvHeads != 0 || (dim / heads) % 2 != 0) {
            throw new IllegalArgumentException("dim must split into an even head width and heads into kv groups");
        }
        if (outlierChannels < 0 || outlierChannels > dim || !(magnitude > 0) || !(tokenShare >= 0 && tokenShare <= 1)) {
            throw new IllegalArgumentException("need 0 <= K <= dim, M > 0 and a token share in [0, 1]");
        }
    }

    /** K outlier channels of magnitude M on 2% of the vocabulary, in a small two-block model. */
    public static PlantedOutlierModel small(int outlierChannels, float magnitude) {
        return new PlantedOutlierModel(128, 256, 2, 4, 2, 256, outlierChannels, magnitude, 0.02, 20240607);
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

    /** The outlier channels, sorted. */
    public int[] plantedChannels() {
        Random r = new Random(seed ^ 0x5EEDL);
        return r.ints(0, dim).distinct().limit(outlierChannels).sorted().toArray();
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

    public void write(Path file) throws IOException {
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
        int[] channels = plantedChannels();
        for (int t = 0; t < vocab; t++) {
            if (planted(t)) {
                for (int c : channels) {
                    embedding[t * dim + c] = magnitude;
                }
            }
        }
        w.addTensor("token_embd.weight", Shape.of(vocab, dim), embedding);
        float[] ones = new float[dim];
        Arrays.fill(ones, 1f);
        for (int l = 0; l < layers; l++) {
            String b = "blk." + l + ".";
            w.addTensor(b + "attn_norm.weight", Shape.of(dim), ones);
            w.addTensor(b + "attn_q.weight", Shape.of(dim, dim), gaussian(r, dim * dim, scale(dim)));
            w.addTensor(b + "attn_k.weight", Shape.of(kvDim, dim), gaussian(r, kvDim * dim, scale(dim)));
            w.addTensor(b + "attn_v.weight", Shape.of(kvDim, dim), gaussian(r, kvDim * dim, scale(dim)));
            w.addTensor(b + "attn_output.weight", Shape.of(dim, dim), gaussian(r, dim * dim, scale(dim)));
            w.addTensor(b + "ffn_norm.weight", Shape.of(dim), ones);
            w.addTensor(b + "ffn_gate.weight", Shape.of(hiddenDim, dim), gaussian(r, hiddenDim * dim, scale(dim)));
            w.addTensor(b + "ffn_down.weight", Shape.of(dim, hiddenDim), gaussian(r, dim * hiddenDim, scale(hiddenDim)));
            w.addTensor(b + "ffn_up.weight", Shape.of(hiddenDim, dim), gaussian(r, hiddenDim * dim, scale(dim)));
        }
        w.addTensor("output_norm.weight", Shape.of(dim), ones);
        w.addTensor("output.weight", Shape.of(vocab, dim), gaussian(r, vocab * dim, HEAD_GAIN * scale(dim)));
        w.write(file);
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
