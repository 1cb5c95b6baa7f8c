package io.llmnpu.runtime.engine;

import io.llmnpu.runtime.quant.QuantRecipe;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.api.LlmRuntime;
import io.llmnpu.runtime.api.RuntimeOptions;
import io.llmnpu.runtime.model.SharedModels;
import io.llmnpu.runtime.model.gguf.GgmlType;
import io.llmnpu.runtime.synth.SyntheticModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Chunked prefill is an exact re-arrangement of token-by-token prefill: for random prompt lengths
 * from 1 to 3C+1 (short prompts run as power-of-two buckets, longer ones as C-row chunks with a
 * padded last chunk) the last position's logits and every filled KV cache row agree with feeding the
 * same tokens one at a time. Differences come only from float summation order in the kernels, far
 * below 1e-4 for these models.
 */
class ChunkedPrefillPropertyTest {
    private static final double TOLERANCE = 1e-4;
    private static final int RANDOM_LENGTHS = 4;

    @TempDir
    static Path dir;
    static Path synthetic;

    @BeforeAll
    static void writeSyntheticModel() {
        synthetic = SyntheticModels.write(dir, "small-gqa-f32.gguf", SyntheticModels.smallGqa(), QuantRecipe.F32, 7);
    }

    static Stream<Arguments> modelsAndChunks() {
        List<Arguments> cases = new ArrayList<>();
        for (String backend : CpuBackends.NAMES) {
            for (String model : List.of("stories260K.gguf", "synthetic")) {
                for (int chunk : List.of(32, 64, 256)) {
                    cases.add(Arguments.of(model, chunk, backend));
                }
            }
        }
        return cases.stream();
    }

    private static Path model(String name) {
        return name.equals("synthetic") ? synthetic : SharedModels.file(name);
    }

    @ParameterizedTest(name = "{0}, chunk {1}, on {2}")
    @MethodSource("modelsAndChunks")
    void chunkedPrefillEqualsTokenByToken(String modelName, int chunk, String backend) {
        CpuBackends.assumeUsable(backend);
        Random random = new Random(31L * chunk + modelName.hashCode());
        int longest = 3 * chunk + 1;
        // Edge lengths (one token, around each chunk boundary, the maximum) plus random ones.
        TreeSet<Integer> lengths = new TreeSet<>(List.of(1, chunk - 1, chunk, chunk + 1, 2 * chunk + 1, longest));
        lengths.remove(0);
        int edges = lengths.size();
        while (lengths.size() < edges + RANDOM_LENGTHS) {
            lengths.add(1 + random.nextInt(longest));
        }
        try (LlmRuntime llm = LlmRuntime.open(RuntimeOptions.of(model(modelName)).withThreads(2)
                .withChunkSize(chunk).withContextLength(longest).withBackend(backend));
             InferenceSession single = llm.openSession()) {
            int vocab = llm.model().config().vocabSize();
            int[] tokens = new int[longest];
            for (int i = 0; i < longest; i++) {
                tokens[i] = random.nextInt(vocab);
            }
            // One token-by-token pass serves every length: causality makes the logits after t tokens
            // and the first t cache rows independent of the tokens that follow.
            float[][] expected = new float[longest][];
            for (int i = 0; i < longest; i++) {
                expected[i] = single.feed(tokens[i]);
            }
            for (int length : lengths) {
                try (InferenceSession chunked = llm.openSession()) {
                    float[] actual = chunked.feed(Arrays.copyOf(tokens, length));
                    String what = modelName + ", chunk " + chunk + ", prompt of " + length;
                    assertEquals(length, chunked.position());
                    double diff = maxAbsDiff(expected[length - 1], actual);
                    assertTrue(diff < TOLERANCE, what + ": logits differ by " + diff);
                    assertCachesAgree(single.cache(), chunked.cache(), llm.model().config().layers(), length, what);
                }
            }
        }
    }

    /** Row by row over the filled positions of every layer's keys and values. */
    static void assertCachesAgree(KvCache expected, KvCache actual, int layers, int rows, String what) {
        for (int l = 0; l < layers; l++) {
            assertRowsAgree(expected.keys(l), actual.keys(l), rows, what + ", keys of layer " + l);
            assertRowsAgree(expected.values(l), actual.values(l), rows, what + ", values of layer " + l);
        }
    }

    private static void assertRowsAgree(Tensor expected, Tensor actual, int rows, String what) {
        int width = expected.shape().dim(1);
        float[] e = expected.toFloatArray();
        float[] a = actual.toFloatArray();
        for (int r = 0; r < rows; r++) {
            double worst = 0;
            boolean anyNonZero = false;
            for (int c = 0; c < width; c++) {
                worst = Math.max(worst, Math.abs(e[r * width + c] - a[r * width + c]));
                anyNonZero |= e[r * width + c] != 0;
            }
            assertTrue(worst < TOLERANCE, what + ", row " + r + ": differs by " + worst);
            assertTrue(anyNonZero, what + ", row " + r + " is empty in the token-by-token cache");
        }
    }

    static double maxAbsDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs(a[i] - b[i]));
        }
        return worst;
    }
}
