package io.llmnpu.runtime.model.gguf;

import io.llmnpu.api.tensor.Shape;
import io.llmnpu.runtime.quant.BlockQuantizer;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Predicate;

/**
 * Builds small but complete Llama-family GGUF files with mixed tensor types (Q8_0 embedding, F16
 * attention, Q4_0 feed-forward, F32 norms, tied output), for reader tests and as a fuzzing seed.
 */
public final class TinyLlamaGguf {
    public static final int DIM = 32;
    public static final int HIDDEN = 64;
    public static final int LAYERS = 2;
    public static final int HEADS = 4;
    public static final int KV_HEADS = 2;
    public static final int VOCAB = 64;
    public static final int CONTEXT = 128;

    private TinyLlamaGguf() {
    }

    /** The writer with all metadata and tensors of a valid model of {@code architecture}. */
    public static GgufWriter writer(String architecture, long seed) {
        return writer(architecture, seed, name -> true);
    }

    /** Like {@link #writer(String, long)} but leaves out the tensors {@code include} rejects, so tests can add their own. */
    public static GgufWriter writer(String architecture, long seed, Predicate<String> include) {
        Random random = new Random(seed);
        String a = architecture + ".";
        List<String> tokens = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        List<Integer> types = new ArrayList<>();
        for (int i = 0; i < VOCAB; i++) {
            tokens.add(i == 0 ? "<unk>" : i == 1 ? "<s>" : i == 2 ? "</s>" : "▁t" + i);
            scores.add((float) -i);
            types.add(i < 3 ? 3 : 1);
        }
        GgufWriter w = new GgufWriter()
                .putString("general.architecture", architecture)
                .putString("general.name", "tiny")
                .putUInt32(a + "context_length", CONTEXT)
                .putUInt32(a + "embedding_length", DIM)
                .putUInt32(a + "feed_forward_length", HIDDEN)
                .putUInt32(a + "block_count", LAYERS)
                .putUInt32(a + "attention.head_count", HEADS)
                .putUInt32(a + "attention.head_count_kv", KV_HEADS)
                .putFloat32(a + "rope.freq_base", 500000f)
                .putFloat32(a + "attention.layer_norm_rms_epsilon", 1e-6f)
                .putString("tokenizer.ggml.model", "llama")
                .putArray("tokenizer.ggml.tokens", GgufValueType.STRING, tokens)
                .putArray("tokenizer.ggml.scores", GgufValueType.FLOAT32, scores)
                .putArray("tokenizer.ggml.token_type", GgufValueType.INT32, types)
                .putUInt32("tokenizer.ggml.bos_token_id", 1)
                .putUInt32("tokenizer.ggml.eos_token_id", 2)
                .putBool("tokenizer.ggml.add_bos_token", true);
        int headDim = DIM / HEADS;
        int kvDim = KV_HEADS * headDim;
        add(w, include, "token_embd.weight", GgmlType.Q8_0, Shape.of(VOCAB, DIM),
                MemorySegment.ofArray(BlockQuantizer.quantizeQ8_0(floats(random, VOCAB * DIM))));
        for (int i = 0; i < LAYERS; i++) {
            String b = "blk." + i + ".";
            add(w, include, b + "attn_norm.weight", Shape.of(DIM), floats(random, DIM));
            add(w, include, b + "attn_q.weight", GgmlType.F16, Shape.of(DIM, DIM), f16(random, DIM * DIM));
            add(w, include, b + "attn_k.weight", GgmlType.F16, Shape.of(kvDim, DIM), f16(random, kvDim * DIM));
            add(w, include, b + "attn_v.weight", GgmlType.F16, Shape.of(kvDim, DIM), f16(random, kvDim * DIM));
            add(w, include, b + "attn_output.weight", GgmlType.F16, Shape.of(DIM, DIM), f16(random, DIM * DIM));
            add(w, include, b + "ffn_norm.weight", Shape.of(DIM), floats(random, DIM));
            add(w, include, b + "ffn_gate.weight", GgmlType.Q4_0, Shape.of(HIDDEN, DIM), q4(random, HIDDEN * DIM));
            add(w, include, b + "ffn_down.weight", GgmlType.Q4_0, Shape.of(DIM, HIDDEN), q4(random, DIM * HIDDEN));
            add(w, include, b + "ffn_up.weight", GgmlType.Q4_0, Shape.of(HIDDEN, DIM), q4(random, HIDDEN * DIM));
        }
        add(w, include, "output_norm.weight", Shape.of(DIM), floats(random, DIM));
        return w;
    }

    private static void add(GgufWriter w, Predicate<String> include, String name, GgmlType type, Shape shape, MemorySegment data) {
        if (include.test(name)) {
            w.addTensor(name, type, shape, data);
        }
    }

    private static void add(GgufWriter w, Predicate<String> include, String name, Shape shape, float[] data) {
        if (include.test(name)) {
            w.addTensor(name, shape, data);
        }
    }

    public static Path write(Path file, String architecture) throws IOException {
        writer(architecture, 99).write(file);
        return file;
    }

    private static float[] floats(Random random, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) random.nextGaussian();
        }
        return out;
    }

    private static MemorySegment f16(Random random, int n) {
        return MemorySegment.ofArray(BlockQuantizer.toF16(floats(random, n)));
    }

    private static MemorySegment q4(Random random, int n) {
        return MemorySegment.ofArray(BlockQuantizer.quantizeQ4_0(floats(random, n)));
    }
}
