package io.llmnpu.runtime.synth;

import io.llmnpu.runtime.model.ProgressListener;
import io.llmnpu.runtime.quant.QuantRecipe;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** Small synthetic models for tests, written with {@link SyntheticModelWriter}. */
public final class SyntheticModels {
    private SyntheticModels() {
    }

    /**
     * dim 128, 2 layers, 8 query heads sharing 2 KV heads (GQA), FFN 256, vocab 320, context 1024.
     * Every row is a whole number of 32-value blocks, so it can be written in any type. RoPE theta and
     * RMS epsilon are llama2.c's, so the double-precision reference can run it.
     */
    public static ModelShape smallGqa() {
        return new ModelShape("small-gqa", "llama", 128, 256, 2, 8, 2, 320, 1024, 10000f, 1e-5f, false);
    }

    /** {@link #smallGqa()} at dim 256, FFN 512: rows are whole 256-value k-quant blocks. */
    public static ModelShape wideGqa() {
        return new ModelShape("wide-gqa", "llama", 256, 512, 2, 8, 2, 320, 1024, 10000f, 1e-5f, false);
    }

    /** Writes {@code shape} with {@code type}'s weight types to {@code dir/name}. */
    public static Path write(Path dir, String name, ModelShape shape, QuantRecipe type, long seed) {
        Path file = dir.resolve(name);
        try {
            new SyntheticModelWriter(shape, type, seed, 2).write(file, ProgressListener.none());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }
}
