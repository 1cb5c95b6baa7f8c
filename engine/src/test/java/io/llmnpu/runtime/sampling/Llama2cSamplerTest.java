package io.llmnpu.runtime.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class Llama2cSamplerTest {

    @Test
    void temperatureZeroTakesTheFirstMaximum() {
        Sampler sampler = new Llama2cSampler(0f, 0.9f, 7L);
        assertEquals(2, sampler.sample(new float[] {0.1f, -3f, 5f, 5f, 4.9f}));
        assertEquals(0, sampler.sample(new float[] {1f, 1f, 1f}));
    }

    /**
     * Ids that llama2.c's sampling code (sample, softmax with glibc expf, sample_mult, sample_topp),
     * compiled with gcc, chose for 20 rows of 1000 pseudo-random logits in [-8, 8). The rows come
     * from the xorshift64* stream with seed 777 as {@code coin * 16 - 8}; the sampler has its own seed.
     */
    @ParameterizedTest
    @CsvSource(delimiter = ';', value = {
            "0.5; 0.5; 1000; 678 351 176 168 411 572 317 214 150 556 271 777 293 914 985 566 953 269 281 605",
            "0.5; 0.9; 1001; 99 874 301 218 499 307 894 470 380 496 52 86 237 991 788 112 203 796 914 473",
            "0.5; 0.95; 1002; 285 7 176 468 790 953 70 66 733 581 136 29 828 12 537 978 120 826 720 910",
            "0.5; 1; 1003; 933 631 714 230 759 572 561 221 161 676 307 638 752 890 115 516 66 945 197 681",
            "1; 0.5; 1010; 300 845 92 334 622 370 429 576 110 755 189 501 293 843 888 219 381 563 828 983",
            "1; 0.9; 1011; 355 7 953 567 635 20 269 248 261 668 652 632 327 74 671 113 213 417 231 796",
            "1; 0.95; 1012; 641 319 722 210 881 370 100 766 441 755 950 777 752 453 41 182 161 716 793 525",
            "1; 1; 1013; 986 168 461 299 622 760 867 470 624 728 18 632 311 931 299 112 0 292 847 825",
            "1.3; 0.5; 1020; 730 559 340 412 393 590 151 498 625 566 781 240 571 775 598 291 567 34 443 70",
            "1.3; 0.9; 1021; 678 820 176 230 757 548 654 679 3 581 681 409 948 75 754 263 433 748 905 85",
            "1.3; 0.95; 1022; 678 913 461 528 248 572 445 470 328 741 759 510 571 324 376 265 223 476 566 536",
            "1.3; 1; 1023; 197 509 836 470 839 687 403 147 766 483 189 435 311 36 875 633 561 709 887 855"})
    void matchesLlama2cOnRandomRows(float temperature, float topP, long seed, String expectedIds) {
        int[] expected = Arrays.stream(expectedIds.split(" ")).mapToInt(Integer::parseInt).toArray();
        Xorshift64Star logitSource = new Xorshift64Star(777L);
        Sampler sampler = new Llama2cSampler(temperature, topP, seed);
        int[] actual = new int[expected.length];
        for (int step = 0; step < expected.length; step++) {
            float[] logits = new float[1000];
            for (int i = 0; i < logits.length; i++) {
                logits[i] = logitSource.nextFloat() * 16.0f - 8.0f;
            }
            actual[step] = sampler.sample(logits);
        }
        assertArrayEquals(expected, actual);
    }

    @Test
    void equalSeedsGiveEqualSequences() {
        int[] a = draws(new Llama2cSampler(1f, 0.9f, 99L), 500);
        int[] b = draws(new Llama2cSampler(1f, 0.9f, 99L), 500);
        int[] c = draws(new Llama2cSampler(1f, 0.9f, 100L), 500);
        assertArrayEquals(a, b);
        assertTrue(!Arrays.equals(a, c), "a different seed should change the draws");
    }

    @Test
    void plainSamplingFollowsTheSoftmaxDistribution() {
        double[] expected = {0.1, 0.2, 0.3, 0.4};
        int[] counts = new int[4];
        Sampler sampler = new Llama2cSampler(1f, 1f, 2024L);
        int draws = 10_000;
        for (int i = 0; i < draws; i++) {
            counts[sampler.sample(logitsOf(expected))]++;
        }
        assertFrequencies(expected, counts, draws);
    }

    @Test
    void topPSamplesOnlyFromTheNucleusInProportion() {
        // Sorted: 0.5, 0.3, 0.15, 0.05. With p = 0.7 the nucleus is {0.5, 0.3}: the sum passes 0.7 at 0.8.
        double[] probs = {0.15, 0.5, 0.05, 0.3};
        int[] counts = new int[4];
        Sampler sampler = new Llama2cSampler(1f, 0.7f, 5L);
        int draws = 10_000;
        for (int i = 0; i < draws; i++) {
            counts[sampler.sample(logitsOf(probs))]++;
        }
        assertEquals(0, counts[0] + counts[2], "tokens outside the nucleus were drawn: " + Arrays.toString(counts));
        assertFrequencies(new double[] {0, 0.5 / 0.8, 0, 0.3 / 0.8}, counts, draws);
    }

    /** Property: a top-p draw is always inside the nucleus computed independently in double. */
    @RepeatedTest(20)
    void topPNeverLeavesTheNucleus(RepetitionInfo info) {
        Random random = new Random(31L * info.getCurrentRepetition());
        int n = 50 + random.nextInt(500);
        float topP = 0.05f + 0.9f * random.nextFloat();
        Sampler sampler = new Llama2cSampler(1f, topP, 1L + random.nextInt(1000));
        for (int round = 0; round < 20; round++) {
            float[] logits = new float[n];
            for (int i = 0; i < n; i++) {
                logits[i] = (float) (random.nextGaussian() * 3);
            }
            boolean[] allowed = nucleus(logits, topP);
            int chosen = sampler.sample(logits.clone());
            assertTrue(allowed[chosen], "token " + chosen + " is outside the top-" + topP + " nucleus");
        }
    }

    @Test
    void singleTokenVocabularyAlwaysGivesThatToken() {
        assertEquals(0, new Llama2cSampler(1f, 0.9f, 3L).sample(new float[] {2.5f}));
        assertEquals(0, new Llama2cSampler(1f, 1f, 3L).sample(new float[] {2.5f}));
    }

    /** Tokens in the smallest prefix (by descending probability) whose mass exceeds p, with a rounding margin. */
    private static boolean[] nucleus(float[] logits, float topP) {
        int n = logits.length;
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double[] p = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            p[i] = Math.exp(logits[i] - max);
            sum += p[i];
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
            p[i] /= sum;
        }
        Arrays.sort(order, (a, b) -> Double.compare(p[b], p[a]));
        boolean[] allowed = new boolean[n];
        double cumulative = 0;
        for (int i : order) {
            allowed[i] = true;
            cumulative += p[i];
            if (cumulative > topP + 1e-5) {
                break;
            }
        }
        return allowed;
    }

    private static int[] draws(Sampler sampler, int count) {
        Random random = new Random(11L);
        int[] out = new int[count];
        for (int i = 0; i < count; i++) {
            float[] logits = new float[64];
            for (int j = 0; j < logits.length; j++) {
                logits[j] = (float) random.nextGaussian();
            }
            out[i] = sampler.sample(logits);
        }
        return out;
    }

    static float[] logitsOf(double[] probabilities) {
        float[] logits = new float[probabilities.length];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = probabilities[i] == 0 ? -1e30f : (float) Math.log(probabilities[i]);
        }
        return logits;
    }

    /** Each count within 5 binomial standard deviations of its expectation. */
    static void assertFrequencies(double[] expected, int[] counts, int draws) {
        for (int i = 0; i < expected.length; i++) {
            double mean = expected[i] * draws;
            double sd = Math.sqrt(draws * expected[i] * (1 - expected[i]));
            assertTrue(Math.abs(counts[i] - mean) <= 5 * sd + 1e-9,
                    "token " + i + " drawn " + counts[i] + " times, expected about " + Math.round(mean) + " (counts "
                            + Arrays.toString(counts) + ")");
        }
    }
}
