package io.llmnpu.runtime.sampling;

import static io.llmnpu.runtime.sampling.Llama2cSamplerTest.assertFrequencies;
import static io.llmnpu.runtime.sampling.Llama2cSamplerTest.logitsOf;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;

import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.Test;

class StandardSamplerTest {

    private static final int DRAWS = 10_000;

    @Test
    void greedyTakesTheFirstMaximum() {
        Sampler sampler = Samplers.create(SamplerConfig.greedy());
        assertEquals(3, sampler.sample(new float[] {-1f, 0.5f, 0.2f, 2f, 2f}));
        assertEquals(0, sampler.sample(new float[] {-4f, -5f}));
    }

    @Test
    void equalSeedsGiveEqualSequencesAndOtherSeedsDiffer() {
        int[] a = draws(SamplerConfig.standard(0.8f, 40, 0.95f, 0.05f, 123L), 500);
        int[] b = draws(SamplerConfig.standard(0.8f, 40, 0.95f, 0.05f, 123L), 500);
        int[] c = draws(SamplerConfig.standard(0.8f, 40, 0.95f, 0.05f, 124L), 500);
        assertArrayEquals(a, b);
        assertTrue(!Arrays.equals(a, c), "a different seed should change the draws");
    }

    @Test
    void unfilteredSamplingFollowsTheSoftmaxDistribution() {
        double[] probs = {0.05, 0.25, 0.1, 0.4, 0.2};
        assertFrequencies(probs, counts(SamplerConfig.standard(1f, 0, 1f, 0f, 77L), probs), DRAWS);
    }

    @Test
    void temperatureSharpensTheDistribution() {
        double[] probs = {0.2, 0.8};
        // At temperature 0.5 the probabilities become proportional to p^2: 0.04 : 0.64.
        double low = 0.04 / 0.68;
        assertFrequencies(new double[] {low, 1 - low}, counts(SamplerConfig.standard(0.5f, 0, 1f, 0f, 3L), probs), DRAWS);
    }

    @Test
    void topKKeepsOnlyTheKMostLikelyInProportion() {
        double[] probs = {0.1, 0.35, 0.05, 0.3, 0.2};
        int[] counts = counts(SamplerConfig.standard(1f, 2, 1f, 0f, 8L), probs);
        assertEquals(0, counts[0] + counts[2] + counts[4], "top-2 drew an excluded token: " + Arrays.toString(counts));
        assertFrequencies(new double[] {0, 0.35 / 0.65, 0, 0.3 / 0.65, 0}, counts, DRAWS);
    }

    @Test
    void topPKeepsTheSmallestPrefixReachingP() {
        // Sorted 0.4, 0.3, 0.2, 0.1: with p = 0.65 the nucleus is {0.4, 0.3} (0.7 >= 0.65).
        double[] probs = {0.2, 0.4, 0.1, 0.3};
        int[] counts = counts(SamplerConfig.standard(1f, 0, 0.65f, 0f, 9L), probs);
        assertEquals(0, counts[0] + counts[2], "top-p drew an excluded token: " + Arrays.toString(counts));
        assertFrequencies(new double[] {0, 0.4 / 0.7, 0, 0.3 / 0.7}, counts, DRAWS);
    }

    @Test
    void minPDropsTokensBelowAFractionOfTheTop() {
        // Threshold 0.25 * 0.5 = 0.125: 0.1 and 0.05 go, 0.2 and 0.15 stay.
        double[] probs = {0.5, 0.1, 0.2, 0.05, 0.15};
        int[] counts = counts(SamplerConfig.standard(1f, 0, 1f, 0.25f, 10L), probs);
        assertEquals(0, counts[1] + counts[3], "min-p drew an excluded token: " + Arrays.toString(counts));
        assertFrequencies(new double[] {0.5 / 0.85, 0, 0.2 / 0.85, 0, 0.15 / 0.85}, counts, DRAWS);
    }

    @Test
    void repetitionPenaltyChangesTheGreedyChoice() {
        float[] logits = {1.0f, 3.0f, 2.5f, -1f};
        Sampler plain = Samplers.create(SamplerConfig.greedy());
        Sampler penalised = Samplers.create(SamplerConfig.greedy().withRepeatPenalty(1.5f, 4));
        penalised.accept(1);
        assertEquals(1, plain.sample(logits.clone()));
        assertEquals(2, penalised.sample(logits.clone())); // 3.0 / 1.5 = 2.0 < 2.5
    }

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOnce() {
        float[] logits = {2f, -2f, 4f, 1f};
        Sampler sampler = Samplers.create(SamplerConfig.greedy().withRepeatPenalty(2f, 8));
        for (int token : new int[] {0, 1, 0, 0, 1}) {
            sampler.accept(token); // repeats must not compound the penalty
        }
        sampler.sample(logits);
        assertArrayEquals(new float[] {1f, -4f, 4f, 1f}, logits);
    }

    @Test
    void repetitionPenaltyForgetsTokensOlderThanTheWindow() {
        float[] logits = {3f, 2f, 0f, 0f};
        Sampler sampler = Samplers.create(SamplerConfig.greedy().withRepeatPenalty(2f, 2));
        sampler.accept(0);
        sampler.accept(2);
        sampler.accept(3); // token 0 has left the two-token window
        assertEquals(0, sampler.sample(logits.clone()));
        sampler.accept(0);
        assertEquals(1, sampler.sample(logits.clone()));
    }

    @Test
    void acceptedTokenOutsideTheVocabularyIsReported() {
        Sampler sampler = Samplers.create(SamplerConfig.greedy().withRepeatPenalty(1.1f, 4));
        sampler.accept(10);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> sampler.sample(new float[4]));
        assertTrue(e.getMessage().contains("outside the vocabulary"), e.getMessage());
    }

    /** Property: every draw respects top-k, top-p and min-p as computed independently in double. */
    @RepeatedTest(25)
    void drawsStayInsideTheFilteredSet(RepetitionInfo info) {
        Random random = new Random(1000L + info.getCurrentRepetition());
        int n = 20 + random.nextInt(3000);
        int topK = random.nextBoolean() ? 0 : 1 + random.nextInt(50);
        float topP = random.nextBoolean() ? 1f : 0.1f + 0.85f * random.nextFloat();
        float minP = random.nextBoolean() ? 0f : 0.3f * random.nextFloat();
        float temperature = 0.3f + 1.5f * random.nextFloat();
        Sampler sampler = Samplers.create(SamplerConfig.standard(temperature, topK, topP, minP, random.nextLong()));
        for (int round = 0; round < 20; round++) {
            float[] logits = new float[n];
            for (int i = 0; i < n; i++) {
                logits[i] = (float) (random.nextGaussian() * 4);
            }
            boolean[] allowed = allowedTokens(logits, temperature, topK, topP, minP);
            int chosen = sampler.sample(logits.clone());
            assertTrue(allowed[chosen], "token " + chosen + " excluded by top-k " + topK + ", top-p " + topP
                    + ", min-p " + minP);
        }
    }

    @Test
    void largeVocabularyWithTopKAgreesWithAFullSort() {
        int n = 150_000;
        Random random = new Random(5L);
        float[] logits = new float[n];
        for (int i = 0; i < n; i++) {
            logits[i] = (float) random.nextGaussian();
        }
        // Temperature tiny: within top-k = 1 the draw must be the argmax; top-k = 40 must stay in the top 40.
        Integer[] order = IntStream.range(0, n).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> logits[i]).reversed());
        boolean[] top40 = new boolean[n];
        for (int r = 0; r < 40; r++) {
            top40[order[r]] = true;
        }
        assertEquals(order[0], Samplers.create(SamplerConfig.standard(1f, 1, 1f, 0f, 1L)).sample(logits.clone()));
        Sampler sampler = Samplers.create(SamplerConfig.standard(1f, 40, 0.95f, 0.05f, 2L));
        for (int i = 0; i < 200; i++) {
            int chosen = sampler.sample(logits.clone());
            assertTrue(top40[chosen], "token " + chosen + " is not among the 40 largest logits");
        }
    }

    @Test
    void rejectsAConfigOfAnotherMode() {
        assertThrows(IllegalArgumentException.class, () -> new StandardSampler(SamplerConfig.llama2c(1f, 0.9f, 1L)));
    }

    /** The tokens that top-k, then top-p, then min-p keep (with a small tolerance for rounding). */
    private static boolean[] allowedTokens(float[] logits, float temperature, int topK, float topP, float minP) {
        int n = logits.length;
        Integer[] order = IntStream.range(0, n).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> logits[i]).reversed());
        int m = topK > 0 ? Math.min(topK, n) : n;
        double max = logits[order[0]];
        double[] p = new double[m];
        double sum = 0;
        for (int r = 0; r < m; r++) {
            p[r] = Math.exp((logits[order[r]] - max) / temperature);
            sum += p[r];
        }
        for (int r = 0; r < m; r++) {
            p[r] /= sum;
        }
        if (topP < 1f) {
            double cumulative = 0;
            for (int r = 0; r < m; r++) {
                cumulative += p[r];
                if (cumulative >= topP - 1e-6) {
                    m = r + 1;
                    break;
                }
            }
        }
        boolean[] allowed = new boolean[n];
        for (int r = 0; r < m; r++) {
            if (p[r] >= minP * p[0] * (1 - 1e-5)) {
                allowed[order[r]] = true;
            }
        }
        return allowed;
    }

    private static int[] counts(SamplerConfig config, double[] probabilities) {
        Sampler sampler = Samplers.create(config);
        int[] counts = new int[probabilities.length];
        for (int i = 0; i < DRAWS; i++) {
            counts[sampler.sample(logitsOf(probabilities))]++;
        }
        return counts;
    }

    private static int[] draws(SamplerConfig config, int count) {
        Sampler sampler = Samplers.create(config);
        Random random = new Random(11L);
        int[] out = new int[count];
        for (int i = 0; i < count; i++) {
            float[] logits = new float[500];
            for (int j = 0; j < logits.length; j++) {
                logits[j] = (float) random.nextGaussian() * 2;
            }
            out[i] = sampler.sample(logits);
        }
        return out;
    }
}
