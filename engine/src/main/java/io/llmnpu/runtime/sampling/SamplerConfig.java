package io.llmnpu.runtime.sampling;

/**
 * How to pick tokens from logits. Each filter has a neutral value that switches it off.
 *
 * @param temperature   divides the logits before softmax; 0 picks the most likely token (greedy)
 * @param topK          keep only the {@code topK} most likely tokens; 0 = off
 * @param topP          keep the smallest set of most likely tokens whose probability reaches
 *                      {@code topP} (nucleus sampling); 1 = off
 * @param minP          drop tokens whose probability is below {@code minP} times the top
 *                      probability; 0 = off
 * @param repeatPenalty divides positive (multiplies negative) logits of recently seen tokens;
 *                      1 = off
 * @param repeatLastN   how many of the most recent accepted tokens the penalty looks at
 * @param seed          seed of the random number generator; equal seeds give equal draws
 * @param mode          which sampling algorithm interprets these settings
 */
public record SamplerConfig(
        float temperature,
        int topK,
        float topP,
        float minP,
        float repeatPenalty,
        int repeatLastN,
        long seed,
        Mode mode) {

    /** The sampling algorithm. */
    public enum Mode {
        /** A llama.cpp-style chain: penalty, top-k, temperature, softmax, top-p, min-p, draw. */
        STANDARD,
        /**
         * Bit-exact llama2.c {@code run.c}: temperature, float softmax, xorshift64* coin, plain or
         * top-p draw. Supports only temperature, top-p and seed.
         */
        LLAMA2C
    }

    /** Default history length for the repetition penalty (llama.cpp's default). */
    public static final int DEFAULT_REPEAT_LAST_N = 64;

    public SamplerConfig {
        if (mode == null) {
            throw new IllegalArgumentException("sampler mode must be given (STANDARD or LLAMA2C)");
        }
        if (!(temperature >= 0) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number >= 0 (0 = greedy), got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top-k must be >= 0 (0 = off), got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top-p must be in (0, 1] (1 = off), got " + topP);
        }
        if (!(minP >= 0 && minP <= 1)) {
            throw new IllegalArgumentException("min-p must be in [0, 1] (0 = off), got " + minP);
        }
        if (!(repeatPenalty > 0) || Float.isInfinite(repeatPenalty)) {
            throw new IllegalArgumentException("repeat penalty must be a finite number > 0 (1 = off), got " + repeatPenalty);
        }
        if (repeatLastN < 0) {
            throw new IllegalArgumentException("repeat-last-n must be >= 0, got " + repeatLastN);
        }
        if (mode == Mode.LLAMA2C) {
            if (topK != 0 || minP != 0 || repeatPenalty != 1) {
                throw new IllegalArgumentException("LLAMA2C sampling supports only temperature, top-p and seed;"
                        + " set top-k = 0, min-p = 0 and repeat penalty = 1 (got top-k " + topK + ", min-p " + minP
                        + ", repeat penalty " + repeatPenalty + ")");
            }
            if (seed == 0 && temperature > 0) {
                // xorshift64* maps state 0 to 0 forever: every coin would be 0.
                throw new IllegalArgumentException("LLAMA2C sampling needs a non-zero seed (the xorshift64* generator"
                        + " never leaves state 0); llama2.c itself replaces 0 by the current time");
            }
        }
    }

    /** Always picks the most likely token. */
    public static SamplerConfig greedy() {
        return new SamplerConfig(0f, 0, 1f, 0f, 1f, DEFAULT_REPEAT_LAST_N, 1L, Mode.STANDARD);
    }

    /** llama2.c {@code run.c} sampling with {@code -t temperature -p topP -s seed}. */
    public static SamplerConfig llama2c(float temperature, float topP, long seed) {
        return new SamplerConfig(temperature, 0, topP, 0f, 1f, DEFAULT_REPEAT_LAST_N, seed, Mode.LLAMA2C);
    }

    /** A llama.cpp-style chain without repetition penalty. */
    public static SamplerConfig standard(float temperature, int topK, float topP, float minP, long seed) {
        return new SamplerConfig(temperature, topK, topP, minP, 1f, DEFAULT_REPEAT_LAST_N, seed, Mode.STANDARD);
    }

    /** A copy with a repetition penalty over the last {@code lastN} accepted tokens. */
    public SamplerConfig withRepeatPenalty(float penalty, int lastN) {
        return new SamplerConfig(temperature, topK, topP, minP, penalty, lastN, seed, mode);
    }

    /** Whether sampling is greedy (no randomness involved). */
    public boolean isGreedy() {
        return temperature == 0;
    }
}
