package io.llmnpu.runtime.synth;

/**
 * Fast, seeded, approximately normal random values for synthetic weights. Every row of every tensor
 * has its own generator, seeded from (model seed, tensor index, row), so a model's values do not
 * depend on how rows are split between threads, nor on the weight type they are stored as.
 *
 * <p>Each value costs one xorshift64 step: the sum of its four 16-bit parts is an Irwin-Hall(4)
 * variable, which has the mean and variance of the target normal and a bell shape, but no tails
 * beyond 3.46 standard deviations. Weights of trained models have heavier tails; outliers are planted
 * on purpose where a study needs them, not left to chance.
 */
public final class RowNoise {
    /** Mean of the sum of four uniform 16-bit integers. */
    private static final double SUM_MEAN = 4 * 65535 / 2.0;
    /** Standard deviation of that sum: 2 * sqrt((65536^2 - 1) / 12). */
    private static final double SUM_STD = 2 * Math.sqrt((65536.0 * 65536.0 - 1) / 12.0);

    private RowNoise() {
    }

    /** The generator seed of one row of one tensor. */
    public static long rowSeed(long modelSeed, int tensor, long row) {
        return mix(mix(modelSeed ^ 0x9E3779B97F4A7C15L * (tensor + 1)) + row);
    }

    /**
     * Fills {@code out[0, n)} with values of mean {@code mean} and standard deviation {@code std}. Four
     * independent xorshift streams fill interleaved positions, so that the CPU can overlap their
     * dependency chains.
     */
    public static void fill(float[] out, int n, long seed, float mean, float std) {
        long s0 = mix(seed) | 1; // xorshift must not start at zero
        long s1 = mix(s0) | 1;
        long s2 = mix(s1) | 1;
        long s3 = mix(s2) | 1;
        float scale = (float) (std / SUM_STD);
        float offset = (float) (mean - SUM_MEAN * (std / SUM_STD));
        int i = 0;
        for (; i + 4 <= n; i += 4) {
            s0 = next(s0);
            s1 = next(s1);
            s2 = next(s2);
            s3 = next(s3);
            out[i] = sum16(s0) * scale + offset;
            out[i + 1] = sum16(s1) * scale + offset;
            out[i + 2] = sum16(s2) * scale + offset;
            out[i + 3] = sum16(s3) * scale + offset;
        }
        for (; i < n; i++) {
            s0 = next(s0);
            out[i] = sum16(s0) * scale + offset;
        }
    }

    private static long next(long s) {
        s ^= s << 13;
        s ^= s >>> 7;
        return s ^ (s << 17);
    }

    /** Sum of the four 16-bit parts: 0..262140, exact in a float. */
    private static float sum16(long s) {
        return (s & 0xFFFF) + ((s >>> 16) & 0xFFFF) + ((s >>> 32) & 0xFFFF) + (s >>> 48);
    }

    /** SplitMix64's finaliser: spreads nearby seeds (row 0, row 1, ...) over the whole state space. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
