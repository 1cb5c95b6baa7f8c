package io.llmnpu.runtime.sampling;

import java.util.Arrays;

/**
 * Reproduces llama2.c {@code run.c} sampling bit for bit, so that a model run with the same seed
 * prints the same text as the C program: greedy argmax at temperature 0; otherwise logits divided by
 * the temperature, a float32 softmax, one xorshift64* coin per token and either a plain draw over
 * the whole vocabulary or a top-p (nucleus) draw.
 *
 * <p>All arithmetic is float32 in the same order as the C code, since a different rounding of
 * a cumulative sum can move a coin across a token boundary. {@code expf} is emulated by rounding
 * {@link StrictMath#exp} to float: that is (nearly always) the correctly rounded result, and it
 * does not depend on JVM intrinsics. C libraries' {@code expf} is not correctly rounded and differs
 * between platforms (glibc 2.36 on x86-64 is one ulp off for about 0.06% of inputs in [-40, 0]), so
 * no choice is exact everywhere; a one-ulp probability change only matters when a coin lands within
 * about 1e-7 of a token boundary.
 */
public final class Llama2cSampler implements Sampler {

    private final float temperature;
    private final float topP;
    private final Xorshift64Star rng;
    /** Top-p candidates as {@link RankKeys}, reused between calls. */
    private long[] candidates = new long[0];

    public Llama2cSampler(float temperature, float topP, long seed) {
        if (!(temperature >= 0) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number >= 0, got " + temperature);
        }
        this.temperature = temperature;
        this.topP = topP;
        this.rng = new Xorshift64Star(seed);
    }

    public Llama2cSampler(SamplerConfig config) {
        this(config.temperature(), config.topP(), config.seed());
    }

    @Override
    public int sample(float[] logits) {
        int n = logits.length;
        if (n == 0) {
            throw new IllegalArgumentException("cannot sample from an empty logits row");
        }
        if (temperature == 0.0f) {
            return argmax(logits);
        }
        for (int i = 0; i < n; i++) {
            logits[i] /= temperature;
        }
        softmax(logits);
        // run.c draws the coin after the softmax and before choosing the method; one coin per token.
        float coin = rng.nextFloat();
        if (topP <= 0 || topP >= 1) {
            return sampleMultinomial(logits, coin);
        }
        return sampleTopP(logits, coin);
    }

    /** First index of the largest value, as {@code sample_argmax}. */
    static int argmax(float[] values) {
        int best = 0;
        float bestValue = values[0];
        for (int i = 1; i < values.length; i++) {
            if (values[i] > bestValue) {
                best = i;
                bestValue = values[i];
            }
        }
        return best;
    }

    /** In-place float32 softmax with the same operation order as {@code run.c}. */
    static void softmax(float[] x) {
        float max = x[0];
        for (int i = 1; i < x.length; i++) {
            if (x[i] > max) {
                max = x[i];
            }
        }
        float sum = 0.0f;
        for (int i = 0; i < x.length; i++) {
            x[i] = expf(x[i] - max);
            sum += x[i];
        }
        for (int i = 0; i < x.length; i++) {
            x[i] /= sum;
        }
    }

    private static float expf(float x) {
        return (float) StrictMath.exp(x);
    }

    /** Walks the cumulative distribution, as {@code sample_mult}. */
    private static int sampleMultinomial(float[] probabilities, float coin) {
        float cdf = 0.0f;
        for (int i = 0; i < probabilities.length; i++) {
            cdf += probabilities[i];
            if (coin < cdf) {
                return i;
            }
        }
        return probabilities.length - 1; // rounding left the total below the coin
    }

    /** Nucleus draw, as {@code sample_topp}. */
    private int sampleTopP(float[] probabilities, float coin) {
        int n = probabilities.length;
        if (candidates.length < n) {
            candidates = new long[n];
        }
        // A token below (1 - p) / (n - 1) can never be in the nucleus: all tokens at or below it sum
        // to less than 1 - p. Dropping them first keeps the sort small.
        float cutoff = (1.0f - topP) / (n - 1);
        int kept = 0;
        for (int i = 0; i < n; i++) {
            float p = probabilities[i];
            if (p >= cutoff) {
                candidates[kept++] = RankKeys.of(p, i);
            }
        }
        if (kept == 0) {
            // Only reachable with a single token or with p < 1/n on a near-uniform row; run.c would
            // read outside its buffer here. The most likely token is the sensible answer.
            return argmax(probabilities);
        }
        // Ascending sort of the packed keys; read backwards for descending probability. Among equal
        // probabilities the lower index comes first (run.c's qsort leaves that order unspecified).
        Arrays.sort(candidates, 0, kept);

        float cumulative = 0.0f;
        int last = kept - 1; // if rounding keeps the sum at or below p, all candidates stay
        for (int r = 0; r < kept; r++) {
            cumulative += RankKeys.score(candidates[kept - 1 - r]);
            if (cumulative > topP) {
                last = r;
                break;
            }
        }
        float target = coin * cumulative;
        float cdf = 0.0f;
        for (int r = 0; r <= last; r++) {
            long c = candidates[kept - 1 - r];
            cdf += RankKeys.score(c);
            if (target < cdf) {
                return RankKeys.id(c);
            }
        }
        return RankKeys.id(candidates[kept - 1 - last]);
    }
}
