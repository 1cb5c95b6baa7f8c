package io.llmnpu.runtime.model.gguf;

/**
 * Values of {@code general.file_type}: llama.cpp's {@code llama_ftype}, which names the type most
 * weights of a file have ("mostly Q8_0": norms and a few tensors may differ). The codes of the types
 * llmnpu writes are on {@link io.llmnpu.runtime.quant.QuantRecipe}.
 */
public final class LlamaFileType {
    public static final String KEY = "general.file_type";

    private LlamaFileType() {
    }
}
