package io.llmnpu.scheduler;

/**
 * The dimensions of a Llama-family transformer that decide how much work prefill is. Only shapes
 * matter to the scheduler, never weights.
 *
 * @param dim       width of the residual stream
 * @param hiddenDim inner width of the feed-forward network
 * @param layers    transformer blocks
 * @param heads     query heads
 * @param kvHeads   key/value heads (fewer than {@code heads} with grouped-query attention)
 * @param vocabSize tokens in the vocabulary (size of the output projection)
 */
public record ModelShape(int dim, int hiddenDim, int layers, int heads, int kvHeads, int vocabSize) {

    /** Qwen1.5-1.8B, the model of the headline prefill results of llm.npu. */
    public static final ModelShape QWEN1_5_1_8B = new ModelShape(2048, 5504, 24, 16, 16, 151936);

    public ModelShape {
        positive("dim", dim);
        positive("hidden dim", hiddenDim);
        positive("layers", layers);
        positive("heads", heads);
        positive("kv heads", kvHeads);
        positive("vocab size", vocabSize);
        if (dim % heads != 0) {
            throw new IllegalArgumentException("dim " + dim + " is not a multiple of heads " + heads);
        }
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("heads " + heads + " is not a multiple of kv heads " + kvHeads);
        }
    }

    private static void positive(String what, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(what + " must be positive, got " + value);
        }
    }

    public int headDim() {
        return dim / heads;
    }

    /** Width of all query heads together (equal to {@code dim}). */
    public int qDim() {
        return heads * headDim();
    }

    /** Width of all key (or value) heads together. */
    public int kvDim() {
        return kvHeads * headDim();
    }
}
