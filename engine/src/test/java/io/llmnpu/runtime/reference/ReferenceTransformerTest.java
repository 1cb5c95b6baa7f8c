package io.llmnpu.runtime.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.llmnpu.runtime.api.LlmRuntime;
import io.llmnpu.runtime.api.RuntimeOptions;
import io.llmnpu.runtime.engine.InferenceSession;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The engine against the independent double-precision {@link ReferenceTransformer} on every F32
 * reference model, position by position along llama.cpp's whole path (prompt in one chunk, then
 * token by token); and the reference itself against llama.cpp, in llama.cpp's own attention
 * precision, which shows that the reference reads each architecture as llama.cpp does.
 */
class ReferenceTransformerTest {
    /** Engine vs exact reference, relative to the largest logit: F32 arithmetic through a few layers. */
    private static final double ENGINE_TOLERANCE = 1e-4;
    /** Reference in llama.cpp's precision vs llama.cpp: what remains is llama.cpp's F16 GELU table. */
    private static final double LLAMA_CPP_TOLERANCE = 1e-3;

    static List<LlamaCppCases> cases() {
        return LlamaCppCases.all().stream().filter(LlamaCppCases::floatWeights).toList();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void engineMatchesTheExactReference(LlamaCppCases c) throws Exception {
        int[] path = c.pathIds();
        ReferenceTransformer reference = new ReferenceTransformer(c.path(), path.length);
        try (LlmRuntime llm = LlmRuntime.open(RuntimeOptions.of(c.path()).withThreads(2).withContextLength(256));
             InferenceSession session = llm.openSession()) {
            int prompt = c.promptIds().length;
            check(c, session.feed(c.promptIds()), reference.forward(c.promptIds(), 0), prompt - 1);
            for (int pos = prompt; pos < path.length; pos++) {
                check(c, session.feed(path[pos]), reference.forward(path[pos], pos), pos);
            }
        }
    }

    private static void check(LlamaCppCases c, float[] actual, double[] expected, int pos) {
        assertEquals(expected.length, actual.length);
        double scale = 1;
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
        }
        assertTrue(worst <= ENGINE_TOLERANCE * scale, c + " position " + pos + ": max abs diff " + worst
                + " with logits up to " + scale);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void referenceInLlamaCppPrecisionReproducesLlamaCpp(LlamaCppCases c) throws Exception {
        int[] path = c.pathIds();
        ReferenceTransformer reference = new ReferenceTransformer(c.path(), path.length,
                ReferenceTransformer.Precision.LLAMA_CPP_F16_ATTENTION);
        assumeTrue(reference.vocabSize() > 0);
        double[] logits = reference.forward(c.promptIds(), 0);
        for (double[] e : c.top5()) {
            double got = logits[(int) e[0]];
            assertTrue(Math.abs(got - e[1]) <= LLAMA_CPP_TOLERANCE * Math.abs(e[1]),
                    c + ": token " + (int) e[0] + " " + got + " vs llama.cpp " + e[1]);
        }
        int[] greedy = new int[c.greedyIds().length];
        int pos = c.promptIds().length;
        for (int i = 0; i < greedy.length; i++) {
            int best = 0;
            for (int k = 1; k < logits.length; k++) {
                best = logits[k] > logits[best] ? k : best;
            }
            greedy[i] = best;
            logits = reference.forward(c.greedyIds()[i], pos++);
        }
        assertArrayEquals(c.greedyIds(), greedy, c.toString());
    }
}
