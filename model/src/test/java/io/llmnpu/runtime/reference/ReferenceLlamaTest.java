package io.llmnpu.runtime.reference;

import io.llmnpu.runtime.model.SharedModels;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.Arrays;

import org.junit.jupiter.api.Test;

/** The double-precision reference reproduces llama2.c's published greedy output of stories260K. */
class ReferenceLlamaTest {

    /** Greedy ids from BOS, from ../shared/models/README.md. */
    private static final int[] GREEDY_IDS = {403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395,
            317, 426, 338, 401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385};

    /** llama2.c {@code run stories260K.bin -z tok512.bin -t 0.0 -n 200} (README reference text 1). */
    static final String GREEDY_TEXT_200 = "Once upon a time, there was a little girl named Lily. She loved to play outside"
            + " in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.\n"
            + "Lily's mom said, \"Lily, let's go to the park.\" Lily was sad and didn't know what to do. She said,"
            + " \"I want to play with your ball, but I can't find it.\"\n"
            + "Lily was sad and didn't know what to do. She said, \"I'm sorry, Lily. I didn't know what to do.\"\n"
            + "Lily didn't want to help her mom, so she";

    @Test
    void headerMatchesTheDocumentedConfig() throws IOException {
        ReferenceLlama model = new ReferenceLlama(SharedModels.file("stories260K.bin"));
        assertArrayEquals(new int[] {64, 172, 5, 8, 4, 512, 512},
                new int[] {model.dim, model.hiddenDim, model.layers, model.heads, model.kvHeads, model.vocabSize,
                        model.seqLen});
    }

    @Test
    void greedyDecodingFromBosGivesTheReferenceIdsAndText() throws IOException {
        ReferenceLlama model = new ReferenceLlama(SharedModels.file("stories260K.bin"));
        int[] ids = ReferenceGeneration.fromBos(model, 200, ReferenceLlamaTest::argmax);

        assertArrayEquals(GREEDY_IDS, Arrays.copyOf(ids, GREEDY_IDS.length));
        PieceTable pieces = new PieceTable(SharedModels.file("tok512.bin"), model.vocabSize);
        assertEquals(GREEDY_TEXT_200, pieces.text(ReferenceGeneration.BOS, ids));
    }

    @Test
    void logitsAreFiniteAndNotDegenerate() throws IOException {
        ReferenceLlama model = new ReferenceLlama(SharedModels.file("stories260K.bin"));
        double[] logits = model.forward(ReferenceGeneration.BOS, 0);
        double min = Arrays.stream(logits).min().orElseThrow();
        double max = Arrays.stream(logits).max().orElseThrow();
        assertEquals(512, logits.length);
        assertTrue(Double.isFinite(min) && Double.isFinite(max) && max - min > 1, "logit range " + min + ".." + max);
    }

    private static int argmax(double[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }
}
