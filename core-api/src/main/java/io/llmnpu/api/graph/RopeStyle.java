package io.llmnpu.api.graph;

/** How rotary position embedding pairs the dimensions of a head. */
public enum RopeStyle {
    /** Rotate adjacent pairs (x[2i], x[2i+1]): llama2.c and GGUF {@code llama}. */
    ADJACENT,
    /** Rotate x[i] with x[i + rotaryDim/2]: GPT-NeoX, Qwen2 and others in GGUF. */
    NEOX
}
