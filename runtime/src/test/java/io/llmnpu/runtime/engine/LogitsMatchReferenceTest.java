package io.llmnpu.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.runtime.api.LlmRuntime;
import io.llmnpu.runtime.api.RuntimeOptions;
import io.llmnpu.runtime.reference.ReferenceLlama;
import io.llmnpu.runtime.model.SharedModels;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The engine's logits against the independent double-precision reference forward pass, position by
 * position, for the whole run of a greedy generation.
 */
class LogitsMatchReferenceTest {
    private static final int POSITIONS = 300;
    private static final double TOLERANCE = 1e-4;

    @ParameterizedTest
    @ValueSource(strings = {"stories260K.bin", "stories260K.v1.bin", "stories260K.gguf"})
    void decodeLogitsMatchForHundredsOfPositions(String file) throws Exception {
        ReferenceLlama reference = new ReferenceLlama(SharedModels.file("stories260K.bin"));
        try (LlmRuntime llm = LlmRuntime.open(RuntimeOptions.of(SharedModels.file(file)).withThreads(2));
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

    @ParameterizedTest
    @ValueSource(ints = {1, 16, 32, 64, 256})
    void chunkedPrefillMatchesReference(int chunkSize) throws Exception {
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
                .withThreads(2).withChunkSize(chunkSize));
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
