package io.llmnpu.runtime.synth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.runtime.api.LlmRuntime;
import io.llmnpu.runtime.api.RuntimeOptions;
import io.llmnpu.runtime.engine.InferenceSession;
import io.llmnpu.runtime.model.load.LoadedModel;
import io.llmnpu.runtime.model.load.ModelLoader;
import io.llmnpu.runtime.model.ModelWeights;
import io.llmnpu.runtime.quant.QuantRecipe;
import io.llmnpu.runtime.reference.ReferenceTransformer;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code synth --arch} for every architecture: small F32 files of each family's tensor layout (biases,
 * fused projections, post-norms, partial rotary, a head size apart from dim / heads, sliding windows
 * shorter than the prompt, soft caps) load with the config their shape says, and the engine's logits
 * follow the independent double-precision reference through a chunked prompt and decode steps.
 */
class SyntheticArchitecturesTest {
    private static final double TOLERANCE = 1e-4;

    @TempDir
    Path dir;

    static List<ModelShape> shapes() {
        ModelShape base = new ModelShape("tiny", "llama", 96, 160, 2, 6, 2, 300, 256, 10000f, 1e-5f, false);
        return List.of(
                base,
                base.withRopeTheta(500000f).withRopeScaling(8f).withName("tiny-llama3.1"),
                base.withArchitecture("mistral").withAttention(5, 0f, 0f).withName("tiny-mistral"),
                base.withArchitecture("qwen2").withRopeTheta(1e6f).withTiedOutput(true).withName("tiny-qwen2"),
                base.withArchitecture("phi3").withHeads(6, 6).withName("tiny-phi3"),
                base.withArchitecture("gemma").withHeads(4, 1).withHeadSize(32, 0).withTiedOutput(true)
                        .withName("tiny-gemma"),
                base.withArchitecture("gemma2").withHeadSize(24, 0).withAttention(5, 20f, 8f).withLayers(3)
                        .withName("tiny-gemma2"),
                base.withArchitecture("phi2").withHeads(6, 6).withHeadSize(0, 8).withName("tiny-phi2"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void engineFollowsTheReference(ModelShape shape) throws Exception {
        Path file = SyntheticModels.write(dir, shape.name() + ".gguf", shape, QuantRecipe.F32, 11);
        try (LoadedModel model = ModelLoader.load(file, null)) {
            assertEquals(shape.toConfig(), model.config());
            assertEquals(shape.parameterCount(), model.tensors().stream().mapToLong(t -> t.shape().elements()).sum());
            if (shape.ropeScaling() > 0) {
                float[] factors = model.weights().find(ModelWeights.ROPE_FREQS).orElseThrow().toFloatArray();
                assertArrayEquals(shape.ropeFactors(), factors);
                assertEquals(1f, factors[0], "high frequencies keep their speed");
                assertEquals(8f, factors[factors.length - 1], "low frequencies slow down by the factor");
            }
        }
        int[] prompt = new int[13];
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = 3 + (i * 37) % (shape.vocabSize() - 3);
        }
        ReferenceTransformer reference = new ReferenceTransformer(file, 32);
        try (LlmRuntime llm = LlmRuntime.open(RuntimeOptions.of(file).withThreads(2).withChunkSize(8)
                .withContextLength(64));
             InferenceSession session = llm.openSession()) {
            compare(shape, session.feed(prompt), reference.forward(prompt, 0), "prompt");
            for (int pos = prompt.length; pos < prompt.length + 6; pos++) {
                int token = 5 + pos * 11 % 200;
                compare(shape, session.feed(token), reference.forward(token, pos), "position " + pos);
            }
        }
    }

    private static void compare(ModelShape shape, float[] actual, double[] expected, String where) {
        double scale = 1;
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
        }
        assertTrue(worst <= TOLERANCE * scale, shape.name() + " " + where + ": max abs diff " + worst);
        assertTrue(worst > 0, "identical logits suggest a vacuous comparison");
    }
}
