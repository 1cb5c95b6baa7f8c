package io.llmnpu.runtime.sampling;

/**
 * Picks the next token from a row of logits. A sampler is stateful (random number generator,
 * recent-token history for penalties) and belongs to one generation.
 */
public interface Sampler {

    /** Chooses a token id; may modify {@code logits} in place. */
    int sample(float[] logits);

    /** Records a token that entered the sequence (prompt or generated), for repetition penalties. */
    default void accept(int token) {
    }
}
