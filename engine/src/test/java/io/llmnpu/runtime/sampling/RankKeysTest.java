package io.llmnpu.runtime.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;

import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;

class RankKeysTest {

    @RepeatedTest(5)
    void keysOrderLikeScoresThenPreferTheLowerId(RepetitionInfo info) {
        Random random = new Random(info.getCurrentRepetition());
        float[] specials = {0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MAX_VALUE, -Float.MAX_VALUE,
                Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, 1f, -1f};
        for (int trial = 0; trial < 10_000; trial++) {
            float a = trial < specials.length ? specials[trial] : (float) (random.nextGaussian() * 10);
            float b = random.nextInt(4) == 0 ? a : (float) (random.nextGaussian() * 10);
            int idA = random.nextInt(200_000);
            int idB = random.nextInt(200_000);
            long ka = RankKeys.of(a, idA);
            long kb = RankKeys.of(b, idB);
            int expected = a != b ? Float.compare(a, b) : Integer.compare(idB, idA);
            assertEquals(Integer.signum(expected), Integer.signum(Long.compare(ka, kb)), a + "#" + idA + " vs " + b + "#" + idB);
            assertEquals(a, RankKeys.score(ka));
            assertEquals(idA, RankKeys.id(ka));
        }
    }
}
