package io.llmnpu.runtime.synth;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Shapes of real Llama-family models, so that synthetic models measure what the real ones would
 * cost. The weights of a synthetic model are random; only sizes and hyper-parameters are real.
 */
public final class ModelShapes {
    private static final Map<String, ModelShape> SHAPES = build();

    private static Map<String, ModelShape> build() {
        Map<String, ModelShape> shapes = new LinkedHashMap<>();
        // Karpathy's tinyllamas stories260K; its FFN width 172 is not a whole number of 32-value
        // blocks, so it can only be written as F32 or F16 (override --ffn for quantized types).
        add(shapes, new ModelShape("stories260k", "llama", 64, 172, 5, 8, 4, 512, 512, 10000f, 1e-5f, false));
        add(shapes, new ModelShape("tinyllama-1.1b", "llama", 2048, 5632, 22, 32, 4, 32000, 2048, 10000f, 1e-5f, false));
        // Qwen1.5-1.8B uses NEOX RoPE and architecture qwen2, but llama.cpp requires q/k/v biases for
        // qwen2, which the Llama graph does not have. Sizes and cost are the same either way, so the
        // shape is written as architecture llama (adjacent-pair RoPE), which every reader accepts.
        add(shapes, new ModelShape("qwen1.5-1.8b", "llama", 2048, 5504, 24, 16, 16, 151936, 32768, 1000000f, 1e-6f, false));
        add(shapes, new ModelShape("llama2-7b", "llama", 4096, 11008, 32, 32, 32, 32000, 4096, 10000f, 1e-5f, false));
        // Gemma-2B (llm.npu's other headline model): 8 heads of 256 over one shared KV head, a 16384-wide
        // FFN, a 256000-token vocabulary tied to the embedding. Its GeGLU and embedding scaling cost the
        // same as the Llama graph's SiLU gate, so the shape is written as architecture llama.
        add(shapes, new ModelShape("gemma-2b", "llama", 2048, 16384, 18, 8, 1, 256000, 8192, 10000f, 1e-6f, true));
        return Collections.unmodifiableMap(shapes);
    }

    private ModelShapes() {
    }

    private static void add(Map<String, ModelShape> shapes, ModelShape shape) {
        shapes.put(shape.name(), shape);
    }

    /** All named shapes, in a stable order. */
    public static Map<String, ModelShape> all() {
        return SHAPES;
    }

    /**
     * The shape called {@code name} (case-insensitive).
     *
     * @throws IllegalArgumentException listing the known names if there is none
     */
    public static ModelShape byName(String name) {
        ModelShape shape = SHAPES.get(name.toLowerCase(Locale.ROOT));
        if (shape == null) {
            throw new IllegalArgumentException("unknown model shape '" + name + "'; known shapes: "
                    + String.join(", ", SHAPES.keySet()));
        }
        return shape;
    }
}
