package io.llmnpu.runtime.sampling;

import java.util.HashMap;
import java.util.Map;

/**
 * OpenAI-style presence and frequency penalties in front of another sampler: before each draw, a
 * token's logit is lowered by {@code presence} if it occurred in the sequence so far and by
 * {@code frequency} times the number of its occurrences.
 */
public final class PenalizedSampler implements Sampler {
    private final Sampler next;
    private final float presence;
    private final float frequency;
    private final Map<Integer, Integer> counts = new HashMap<>();

    public PenalizedSampler(Sampler next, float presence, float frequency) {
        this.next = next;
        this.presence = presence;
        this.frequency = frequency;
    }

    /** {@code next} itself when both penalties are 0. */
    public static Sampler wrap(Sampler next, float presence, float frequency) {
        return presence == 0 && frequency == 0 ? next : new PenalizedSampler(next, presence, frequency);
    }

    @Override
    public int sample(float[] logits) {
        for (Map.Entry<Integer, Integer> e : counts.entrySet()) {
            int id = e.getKey();
            if (id >= 0 && id < logits.length) {
                logits[id] -= presence + frequency * e.getValue();
            }
        }
        return next.sample(logits);
    }

    @Override
    public void accept(int token) {
        counts.merge(token, 1, Integer::sum);
        next.accept(token);
    }
}
