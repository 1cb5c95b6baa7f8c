package io.llmnpu.runtime.synth;

import io.llmnpu.api.tensor.Shape;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ProgressListener;
import io.llmnpu.runtime.model.gguf.GgmlType;
import io.llmnpu.runtime.model.gguf.GgufValueType;
import io.llmnpu.runtime.model.gguf.GgufWriter;
import io.llmnpu.runtime.model.gguf.LlamaFileType;
import io.llmnpu.runtime.quant.ParallelTensorWriter;
import io.llmnpu.runtime.quant.QuantRecipe;
import io.llmnpu.runtime.quant.WeightEncoder;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes a GGUF model of any architecture llmnpu runs with random weights of a given {@link ModelShape}: a file any GGUF
 * reader (llmnpu, llama.cpp) loads and runs, for measuring speed and memory at real model sizes
 * without downloading one, and for tests that need a model of a particular shape.
 *
 * <p>Matrices (the embedding and LM head included) are stored in the chosen type (or, for a k-quant
 * recipe such as Q4_K_M, in the types llama-quantize would give each) and drawn from
 * N(0, {@value #WEIGHT_STD}), the initialisation scale of Llama-style models, which keeps activations
 * at ordinary magnitudes through any number of layers; norm weights are F32 near 1 and biases F32
 * near 0, as llama.cpp keeps them. Values are generated per row on all cores and streamed to the file,
 * so memory stays flat for any model size. The same seed gives the same underlying values for every weight type.
 */
public final class SyntheticModelWriter {
    public static final float WEIGHT_STD = 0.02f;
    public static final float NORM_STD = 0.02f;

    private final ModelShape shape;
    private final QuantRecipe recipe;
    private final long seed;
    private final int threads;

    /** What was written. */
    public record Result(Path file, long bytes, int tensors, long parameters, long nanos) {
    }

    /** A planned tensor: its name, type, shape, and the mean and spread of its values (or fixed values). */
    private record TensorPlan(String name, GgmlType type, Shape shape, float mean, float std, float[] fixed) {
        TensorPlan(String name, GgmlType type, Shape shape, float mean, float std) {
            this(name, type, shape, mean, std, null);
        }

        int rows() {
            return shape.rank() == 1 ? 1 : shape.dim(0);
        }

        int cols() {
            return shape.cols();
        }
    }

    /**
     * @param recipe  the weight type of the matrices, or a k-quant mix of types chosen per matrix as
     *                llama-quantize does
     * @param threads generator threads; 0 for one per core
     * @throws IllegalArgumentException if a matrix row of the shape is not a whole number of its type's blocks
     */
    public SyntheticModelWriter(ModelShape shape, QuantRecipe recipe, long seed, int threads) {
        this.shape = shape;
        this.recipe = recipe;
        this.seed = seed;
        this.threads = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        for (TensorPlan t : plan()) {
            if (t.cols() % t.type().blockSize() != 0) {
                throw new IllegalArgumentException(String.format(
                        "%s cannot be stored as %s: %s has rows of %d values, not a multiple of %d. "
                                + "Write it as f32 or f16, or choose widths that are multiples of %d%s",
                        shape.name(), t.type(), t.name(), t.cols(), t.type().blockSize(), t.type().blockSize(),
                        t.cols() == shape.hiddenDim() ? " (e.g. --ffn " + roundUp(shape.hiddenDim(), t.type().blockSize()) + ")" : ""));
            }
        }
    }

    private static int roundUp(int v, int multiple) {
        return (v + multiple - 1) / multiple * multiple;
    }

    /** Every tensor of the model, in llama.cpp's file order, with its type and value distribution. */
    private List<TensorPlan> plan() {
        List<TensorPlan> tensors = new ArrayList<>();
        List<ModelShape.TensorSpec> specs = shape.tensors();
        int attentionValues = (int) specs.stream()
                .filter(t -> t.name().contains("attn_v.weight") || t.name().contains("attn_qkv.weight")).count();
        boolean hasOutput = specs.stream().anyMatch(t -> t.name().equals("output.weight"));
        QuantRecipe.ModelFacts facts = new QuantRecipe.ModelFacts(shape.architecture(), shape.layers(), shape.heads(),
                shape.kvHeads(), hasOutput, attentionValues);
        for (ModelShape.TensorSpec t : specs) {
            tensors.add(switch (t.kind()) {
                case MATRIX -> new TensorPlan(t.name(), recipe.typeFor(t.name(), t.cols(), facts, false),
                        Shape.of(t.rows(), t.cols()), 0f, WEIGHT_STD);
                case NORM -> new TensorPlan(t.name(), GgmlType.F32, Shape.of(t.cols()), 1f, NORM_STD);
                case BIAS -> new TensorPlan(t.name(), GgmlType.F32, Shape.of(t.cols()), 0f, WEIGHT_STD);
                case ROPE_FACTORS -> new TensorPlan(t.name(), GgmlType.F32, Shape.of(t.cols()), 0f, 0f,
                        shape.ropeFactors());
            });
        }
        return tensors;
    }

    /** Writes the model to {@code file} (replacing it), reporting bytes of tensor data written. */
    public Result write(Path file, ProgressListener progress) throws IOException {
        long start = System.nanoTime();
        List<TensorPlan> tensors = plan();
        GgufWriter writer = metadata(new GgufWriter());
        long total = 0;
        for (TensorPlan t : tensors) {
            total += WeightEncoder.rowBytes(t.type(), t.cols()) * t.rows();
        }
        AtomicLong done = new AtomicLong();
        String stage = "writing " + file.getFileName();
        long totalBytes = total;
        progress.progress(stage, 0, totalBytes);
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "llmnpu-synth");
            t.setDaemon(true);
            return t;
        });
        try {
            for (int i = 0; i < tensors.size(); i++) {
                TensorPlan t = tensors.get(i);
                int index = i;
                long rowBytes = WeightEncoder.rowBytes(t.type(), t.cols());
                writer.addTensor(t.name(), t.type(), t.shape(), new ParallelTensorWriter(t.rows(), rowBytes,
                        (first, count, out) -> encodeRows(t, index, first, count, rowBytes, out),
                        pool, 2 * threads, rows -> progress.progress(stage, done.addAndGet(rows * rowBytes), totalBytes)));
            }
            writer.write(file);
        } finally {
            pool.shutdownNow();
        }
        progress.progress(stage, totalBytes, totalBytes);
        return new Result(file, Files.size(file), tensors.size(), shape.parameterCount(), System.nanoTime() - start);
    }

    private void encodeRows(TensorPlan t, int tensorIndex, int first, int count, long rowBytes, MemorySegment out) {
        float[] row = new float[t.cols()];
        for (int r = 0; r < count; r++) {
            if (t.fixed() != null) {
                System.arraycopy(t.fixed(), (first + r) * row.length, row, 0, row.length);
            } else {
                RowNoise.fill(row, row.length, RowNoise.rowSeed(seed, tensorIndex, first + r), t.mean(), t.std());
            }
            WeightEncoder.encode(t.type(), row, row.length, out.asSlice(r * rowBytes, rowBytes));
        }
    }

    private GgufWriter metadata(GgufWriter w) {
        String a = shape.architecture() + ".";
        ModelConfig config = shape.toConfig();
        SyntheticVocabulary vocab = SyntheticVocabulary.of(shape.vocabSize());
        w.putString("general.architecture", shape.architecture())
                .putString("general.name", shape.name())
                .putString("general.description", "random weights (seed " + seed + ") in the shape of "
                        + shape.name() + ", written by llmnpu synth")
                .putUInt32(LlamaFileType.KEY, recipe.fileType())
                .putUInt32("general.alignment", 32);
        if (recipe.baseType().blockSize() > 1) {
            w.putUInt32("general.quantization_version", 2);
        }
        w.putUInt32(a + "vocab_size", shape.vocabSize())
                .putUInt32(a + "context_length", shape.contextLength())
                .putUInt32(a + "embedding_length", shape.dim())
                .putUInt32(a + "block_count", shape.layers())
                .putUInt32(a + "feed_forward_length", shape.hiddenDim())
                .putUInt32(a + "rope.dimension_count", shape.rotaryDims())
                .putUInt32(a + "attention.head_count", shape.heads())
                .putUInt32(a + "attention.head_count_kv", shape.kvHeads())
                .putFloat32(a + shape.family().normEpsilonKey(), shape.rmsEps())
                .putFloat32(a + "rope.freq_base", shape.ropeTheta());
        if (shape.headDim() != shape.dim() / shape.heads() || shape.dim() % shape.heads() != 0) {
            w.putUInt32(a + "attention.key_length", shape.headDim())
                    .putUInt32(a + "attention.value_length", shape.headDim());
        }
        if (config.slidingWindow() > 0 || shape.architecture().equals("phi3")) {
            // llama.cpp wants Phi-3 files to state a window; one as long as the context is none
            w.putUInt32(a + "attention.sliding_window",
                    config.slidingWindow() > 0 ? config.slidingWindow() : shape.contextLength());
        }
        if (config.attnSoftCap() > 0) {
            w.putFloat32(a + "attn_logit_softcapping", config.attnSoftCap());
        }
        if (config.finalSoftCap() > 0) {
            w.putFloat32(a + "final_logit_softcapping", config.finalSoftCap());
        }
        w
                .putString("tokenizer.ggml.model", "llama")
                .putString("tokenizer.ggml.pre", "default")
                .putArray("tokenizer.ggml.tokens", GgufValueType.STRING, vocab.tokens())
                .putArray("tokenizer.ggml.scores", GgufValueType.FLOAT32, vocab.scores())
                .putArray("tokenizer.ggml.token_type", GgufValueType.INT32, vocab.types())
                .putUInt32("tokenizer.ggml.bos_token_id", SyntheticVocabulary.BOS)
                .putUInt32("tokenizer.ggml.eos_token_id", SyntheticVocabulary.EOS)
                .putUInt32("tokenizer.ggml.unknown_token_id", SyntheticVocabulary.UNKNOWN)
                .putBool("tokenizer.ggml.add_bos_token", true)
                .putBool("tokenizer.ggml.add_eos_token", false);
        return w;
    }
}
