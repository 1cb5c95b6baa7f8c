package io.llmnpu.runtime.model.gguf;

/**
 * Values of {@code general.file_type}: llama.cpp's {@code llama_ftype}, which names the type most
 * weights of a file have ("mostly Q8_0": norms and a few tensors may differ). Only the types llmnpu
 * writes are listed.
 */
public final class LlamaFileType {
    public static final String KEY = "general.file_type";

    private LlamaFileType() {
    }

    /** The {@code general.file_type} code for a file whose matrices are {@code type}. */
    public static int of(GgmlType type) {
        return switch (type) {
            case F32 -> 0;  // LLAMA_FTYPE_ALL_F32
            case F16 -> 1;  // LLAMA_FTYPE_MOSTLY_F16
            case Q4_0 -> 2; // LLAMA_FTYPE_MOSTLY_Q4_0
            case Q8_0 -> 7; // LLAMA_FTYPE_MOSTLY_Q8_0
            case BF16 -> 32; // LLAMA_FTYPE_MOSTLY_BF16
            default -> throw new IllegalArgumentException("no llama.cpp file type for " + type);
        };
    }
}
