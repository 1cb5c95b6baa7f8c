package io.llmnpu.runtime.sampling;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/**
 * A llama.cpp-style sampling chain: repetition penalty over the last accepted tokens, top-k,
 * temperature, softmax, top-p, min-p, then one draw from a seeded generator. Temperature 0 takes
 * the most likely token after the penalty.
 *
 * <p>Built for large vocabularies: top-k is a partial selection (a k-sized heap, O(n log k)), and
 * top-p without top-k first drops the tokens that provably cannot be in the nucleus so that only a
 * handful are sorted. Scratch arrays are kept between calls. Not thread-safe; one instance per
 * generation. Tokens are not recorded automatically: the caller passes every token that enters
 * the sequence, prompt or sampled, to {@link #accept(int)}.
 */
public final class StandardSampler implements Sampler {

    private final float temperature;
    private final int topK;
    private final float topP;
    private final float minP;
    private final float repeatPenalty;
    private final RandomGenerator rng;

    /** Ring buffer of the most recent accepted tokens, for the repetition penalty. */
    private final int[] recent;
    private int recentCount;
    private int recentNext;
    private final int[] recentSorted;

    private int[] ids = new int[0];
    private float[] probs = new float[0];
    private long[] keys = new long[0];

    public StandardSampler(SamplerConfig config) {
        if (config.mode() != SamplerConfig.Mode.STANDARD) {
            throw new IllegalArgumentException("StandardSampler needs mode STANDARD, got " + config.mode());
        }
        this.temperature = config.temperature();
        this.topK = config.topK();
        this.topP = config.topP();
        this.minP = config.minP();
        this.repeatPenalty = config.repeatPenalty();
        // SplittableRandom's algorithm is specified, so a seed gives the same draws on every JDK.
        this.rng = new SplittableRandom(config.seed());
        int window = repeatPenalty == 1f ? 0 : config.repeatLastN();
        this.recent = new int[window];
        this.recentSorted = new int[window];
    }

    @Override
    public void accept(int token) {
        if (token < 0) {
            throw new IllegalArgumentException("token id must be >= 0, got " + token);
        }
        if (recent.length == 0) {
            return;
        }
        recent[recentNext] = token;
        recentNext = (recentNext + 1) % recent.length;
        recentCount = Math.min(recentCount + 1, recent.length);
    }

    @Override
    public int sample(float[] logits) {
        int n = logits.length;
        if (n == 0) {
            throw new IllegalArgumentException("cannot sample from an empty logits row");
        }
        applyRepeatPenalty(logits);
        if (temperature == 0f) {
            return Llama2cSampler.argmax(logits);
        }
        ensureCapacity(n);

        int m;
        boolean sorted;
        if (topK > 0 && topK < n) {
            m = selectTopK(logits, topK);
            sorted = true;
        } else {
            for (int i = 0; i < n; i++) {
                ids[i] = i;
            }
            m = n;
            sorted = false;
        }
        softmaxWithTemperature(logits, m, sorted);
        if (topP < 1f) {
            m = keepNucleus(m, sorted);
            sorted = true;
        }
        if (minP > 0f) {
            m = keepAboveMinP(m, sorted);
        }
        return draw(m);
    }

    /** llama.cpp's rule: each distinct recent token once, positive logits divided, others multiplied. */
    private void applyRepeatPenalty(float[] logits) {
        if (recentCount == 0) {
            return;
        }
        System.arraycopy(recent, 0, recentSorted, 0, recentCount);
        Arrays.sort(recentSorted, 0, recentCount);
        for (int i = 0; i < recentCount; i++) {
            int token = recentSorted[i];
            if (i > 0 && token == recentSorted[i - 1]) {
                continue;
            }
            if (token >= logits.length) {
                throw new IllegalStateException("accepted token " + token + " is outside the vocabulary of "
                        + logits.length + " logits");
            }
            float logit = logits[token];
            logits[token] = logit > 0 ? logit / repeatPenalty : logit * repeatPenalty;
        }
    }

    /** Puts the k highest logits' ids into {@code ids[0..k)}, highest first. */
    private int selectTopK(float[] logits, int k) {
        // Min-heap of the best k keys seen so far; its root is the weakest survivor.
        long[] heap = keys;
        int size = 0;
        for (int i = 0; i < logits.length; i++) {
            long key = RankKeys.of(logits[i], i);
            if (size < k) {
                heap[size] = key;
                siftUp(heap, size++);
            } else if (key > heap[0]) {
                heap[0] = key;
                siftDown(heap, k);
            }
        }
        Arrays.sort(heap, 0, k);
        for (int r = 0; r < k; r++) {
            ids[r] = RankKeys.id(heap[k - 1 - r]);
        }
        return k;
    }

    private static void siftUp(long[] heap, int i) {
        long key = heap[i];
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (heap[parent] <= key) {
                break;
            }
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = key;
    }

    private static void siftDown(long[] heap, int size) {
        long key = heap[0];
        int i = 0;
        while (true) {
            int child = 2 * i + 1;
            if (child >= size) {
                break;
            }
            if (child + 1 < size && heap[child + 1] < heap[child]) {
                child++;
            }
            if (heap[child] >= key) {
                break;
            }
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = key;
    }

    /** probs[i] = softmax(logits[ids[i]] / temperature) over the m candidates. */
    private void softmaxWithTemperature(float[] logits, int m, boolean sorted) {
        float max;
        if (sorted) {
            max = logits[ids[0]];
        } else {
            max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < m; i++) {
                max = Math.max(max, logits[ids[i]]);
            }
        }
        double inverseTemperature = 1.0 / temperature;
        double sum = 0;
        for (int i = 0; i < m; i++) {
            double e = Math.exp((logits[ids[i]] - (double) max) * inverseTemperature);
            probs[i] = (float) e;
            sum += e;
        }
        float scale = (float) (1.0 / sum);
        for (int i = 0; i < m; i++) {
            probs[i] *= scale;
        }
    }

    /**
     * Keeps the smallest highest-probability prefix whose mass reaches top-p; leaves the
     * candidates sorted by descending probability.
     */
    private int keepNucleus(int m, boolean sorted) {
        if (!sorted) {
            // Tokens below (1 - p) / (m - 1) together weigh less than 1 - p, so the nucleus is
            // complete before reaching any of them; only the rest needs sorting. The small margin
            // guards the bound against float rounding of the probabilities.
            float cutoff = m > 1 ? (1f - topP) / (m - 1) * 0.999f : 0f;
            int kept = 0;
            for (int i = 0; i < m; i++) {
                if (probs[i] >= cutoff) {
                    keys[kept++] = RankKeys.of(probs[i], ids[i]);
                }
            }
            if (kept == 0) {
                // Only a near-uniform row with top-p below 1/m gets here: the best token alone is the nucleus.
                int best = 0;
                for (int i = 1; i < m; i++) {
                    if (probs[i] > probs[best]) {
                        best = i;
                    }
                }
                keys[kept++] = RankKeys.of(probs[best], ids[best]);
            }
            Arrays.sort(keys, 0, kept);
            for (int r = 0; r < kept; r++) {
                long key = keys[kept - 1 - r];
                ids[r] = RankKeys.id(key);
                probs[r] = RankKeys.score(key);
            }
            m = kept;
        }
        double cumulative = 0;
        for (int i = 0; i < m; i++) {
            cumulative += probs[i];
            if (cumulative >= topP) {
                return i + 1;
            }
        }
        return m;
    }

    /** Drops candidates below min-p times the top probability (which itself always stays). */
    private int keepAboveMinP(int m, boolean sorted) {
        float top;
        if (sorted) {
            top = probs[0];
        } else {
            top = 0f;
            for (int i = 0; i < m; i++) {
                top = Math.max(top, probs[i]);
            }
        }
        float threshold = minP * top;
        int kept = 0;
        for (int i = 0; i < m; i++) {
            if (probs[i] >= threshold) {
                ids[kept] = ids[i];
                probs[kept] = probs[i];
                kept++;
            }
        }
        return kept;
    }

    /** One draw proportional to the remaining probabilities (renormalised implicitly). */
    private int draw(int m) {
        double total = 0;
        for (int i = 0; i < m; i++) {
            total += probs[i];
        }
        double target = rng.nextDouble() * total;
        double cdf = 0;
        for (int i = 0; i < m; i++) {
            cdf += probs[i];
            if (target < cdf) {
                return ids[i];
            }
        }
        return ids[m - 1];
    }

    private void ensureCapacity(int n) {
        if (ids.length < n) {
            ids = new int[n];
            probs = new float[n];
            keys = new long[n];
        }
    }
}
