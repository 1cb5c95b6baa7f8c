package io.llmnpu.runtime.synth;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Shapes of real models of every architecture llmnpu runs, so that synthetic models measure what the
 * real ones would cost. The weights of a synthetic model are random; only sizes and hyper-parameters are real.
 */
public final class ModelShapes {
    private static final Map<String, ModelShape> SHAPES = build();

    private static Map<String, ModelShape> build() {
        Map<String, ModelShape> shapes = new LinkedHashMap<>();
        // Karpathy's tinyllamas stories260K; its FFN width 172 is not a whole number of 32-value
        // blocks, so it can only be written as F32 or F16 (override --ffn for quantized types).
        add(shapes, new ModelShape("stories260k", "llama", 64, 172, 5, 8, 4, 512, 512, 10000f, 1e-5f, false));
        add(shapes, new ModelShape("tinyllama-1.1b", "llama", 2048, 5632, 22, 32, 4, 32000, 2048, 10000f, 1e-5f, false));
        add(shapes, new ModelShape("llama2-7b", "llama", 4096, 11008, 32, 32, 32, 32000, 4096, 10000f, 1e-5f, false));
        add(shapes, new ModelShape("llama3-8b", "llama", 4096, 14336, 32, 32, 8, 128256, 8192, 500000f, 1e-5f, false));
        add(shapes, new ModelShape("llama3.1-8b", "llama", 4096, 14336, 32, 32, 8, 128256, 131072, 500000f, 1e-5f, false)
                .withRopeScaling(8f).withName("llama3.1-8b"));
        add(shapes, new ModelShape("mistral-7b", "llama", 4096, 14336, 32, 32, 8, 32000, 32768, 1000000f, 1e-5f, false));
        // Qwen1.5 files are architecture qwen2: q/k/v biases, NeoX RoPE.
        add(shapes, new ModelShape("qwen1.5-1.8b", "qwen2", 2048, 5504, 24, 16, 16, 151936, 32768, 1000000f, 1e-6f, false));
        add(shapes, new ModelShape("qwen2-0.5b", "qwen2", 896, 4864, 24, 14, 2, 151936, 32768, 1000000f, 1e-6f, true));
        add(shapes, new ModelShape("gemma-2b", "gemma", 2048, 16384, 18, 8, 1, 256, 0, 256000, 8192, 10000f, 1e-6f,
                true, 0, 0f, 0f));
        add(shapes, new ModelShape("gemma2-2b", "gemma2", 2304, 9216, 26, 8, 4, 256, 0, 256000, 8192, 10000f, 1e-6f,
                true, 4096, 50f, 30f));
        add(shapes, new ModelShape("phi2", "phi2", 2560, 10240, 32, 32, 32, 0, 32, 51200, 2048, 10000f, 1e-5f,
                false, 0, 0f, 0f));
        add(shapes, new ModelShape("phi3-mini", "phi3", 3072, 8192, 32, 32, 32, 0, 0, 32064, 4096, 10000f, 1e-5f,
                false, 2047, 0f, 0f));
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
