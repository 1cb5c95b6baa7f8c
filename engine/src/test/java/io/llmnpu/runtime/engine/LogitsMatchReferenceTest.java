package io.llmnpu.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.runtime.api.LlmRuntime;
import io.llmnpu.runtime.api.RuntimeOptions;
import io.llmnpu.runtime.reference.ReferenceLlama;
import io.llmnpu.runtime.model.SharedModels;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The engine's logits against the independent double-precision reference forward pass, position by
 * position, for the whole run of a greedy generation, on each CPU backend.
 */
class LogitsMatchReferenceTest {
    private static final int POSITIONS = 300;
    private static final double TOLERANCE = 1e-4;

    static Stream<Arguments> filesAndBackends() {
        return List.of("stories260K.bin", "stories260K.v1.bin", "stories260K.gguf").stream()
                .flatMap(file -> CpuBackends.NAMES.stream().map(backend -> Arguments.of(file, backend)));
    }

    static Stream<Arguments> chunksAndBackends() {
        return List.of(1, 16, 32, 64, 256).stream()
                .flatMap(chunk -> CpuBackends.NAMES.stream().map(backend -> Arguments.of(chunk, backend)));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("filesAndBackends")
    void decodeLogitsMatchForHundredsOfPositions(String file, String backend) throws Exception {
        CpuBackends.assumeUsable(backend);
        ReferenceLlama reference = new ReferenceLlama(SharedModels.file("stories260K.bin"));
        try (LlmRuntime llm = LlmRuntime.open(RuntimeOptions.of(SharedModels.file(file)).withThreads(2)
                .withBackend(backend));
             InferenceSession session = llm.openSession()) {
            int token = 1;
            double worst = 0;
            for (int pos = 0; pos < POSITIONS; pos++) {
                float[] actual = session.feed(token);
                double[] expected = reference.forward(token, pos);
                assertEquals(expected.length, actual.length);
                int argmax = 0;
                for (int i = 0; i < actual.length; i++) {
                    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
                    if (expected[i] > expected[argmax]) {
                        argmax = i;
                    }
                }
                assertTrue(worst < TOLERANCE, "position " + pos + ": max abs diff " + worst);
                // Follow the reference's greedy path, except for an occasional fixed token so that the
                // run also covers positions the greedy path would not produce (e.g. repeated tokens).
                token = pos % 37 == 36 ? 300 : argmax;
            }
        }
    }

    @ParameterizedTest(name = "chunk {0} on {1}")
    @MethodSource("chunksAndBackends")
    void chunkedPrefillMatchesReference(int chunkSize, String backend) throws Exception {
        CpuBackends.assumeUsable(backend);
        ReferenceLlama reference = new ReferenceLlama(SharedModels.file("stories260K.bin"));
        int[] prompt = new int[117];
        prompt[0] = 1;
        for (int i = 1; i < prompt.length; i++) {
            prompt[i] = 3 + (i * 131) % 509;
        }
        double[] expected = null;
        for (int pos = 0; pos < prompt.length; pos++) {
            expected = reference.forward(prompt[pos], pos);
        }
        try (LlmRuntime llm = LlmRuntime.open(RuntimeOptions.of(SharedModels.file("stories260K.bin"))
                .withThreads(2).withChunkSize(chunkSize).withBackend(backend));
             InferenceSession session = llm.openSession()) {
            float[] actual = session.feed(prompt);
            double worst = 0;
            for (int i = 0; i < actual.length; i++) {
                worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
            }
            assertTrue(worst < TOLERANCE, "chunk " + chunkSize + ": max abs diff " + worst);
        }
    }
}
