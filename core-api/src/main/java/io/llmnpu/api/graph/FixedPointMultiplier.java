package io.llmnpu.api.graph;

/**
 * A real multiplier as an NPU applies it to INT32 accumulators: a 31-bit integer mantissa and a power
 * of two, {@code real ≈ mantissa * 2^(exponent - 31)} with {@code mantissa} in [2^30, 2^31). Applying it
 * is integer-only: a 64-bit product, a rounding shift (ties away from zero) and saturation. This is how
 * the requantization of a {@link Op.QuantizedLinear} is carried out by the reference NPU and by every
 * device that promises results bit-identical to it.
 *
 * @param mantissa in [2^30, 2^31), or 0 for a zero multiplier
 * @param exponent the power of two
 */
public record FixedPointMultiplier(int mantissa, int exponent) {

    /** Exponents beyond this range would shift the 64-bit product out entirely (or overflow it). */
    public static final int MIN_EXPONENT = -31;
    public static final int MAX_EXPONENT = 31;

    public FixedPointMultiplier {
        if (mantissa != 0 && mantissa < (1 << 30)) {
            throw new IllegalArgumentException("mantissa " + mantissa + " is not normalised to [2^30, 2^31)");
        }
    }

    /** The nearest fixed-point form of {@code real} (positive and finite; tiny values become zero). */
    public static FixedPointMultiplier of(double real) {
        if (!(real >= 0) || Double.isInfinite(real)) {
            throw new IllegalArgumentException("multiplier must be finite and >= 0, got " + real);
        }
        if (real == 0) {
            return new FixedPointMultiplier(0, 0);
        }
        int exponent = Math.getExponent(real) + 1; // real = fraction * 2^exponent with fraction in [0.5, 1)
        double fraction = real / Math.scalb(1.0, exponent);
        long mantissa = Math.round(fraction * (1L << 31));
        if (mantissa == (1L << 31)) { // rounding carried into the next power of two
            mantissa >>= 1;
            exponent++;
        }
        if (exponent < MIN_EXPONENT) {
            return new FixedPointMultiplier(0, 0);
        }
        if (exponent > MAX_EXPONENT) {
            throw new IllegalArgumentException("multiplier " + real + " is too large for fixed point");
        }
        return new FixedPointMultiplier((int) mantissa, exponent);
    }

    /** The value this multiplier stands for. */
    public double real() {
        return mantissa * Math.scalb(1.0, exponent - 31);
    }

    /**
     * {@code clamp(round(acc * real()), -limit, limit)} in integer arithmetic, ties rounded away from
     * zero.
     */
    public int apply(int acc, int limit) {
        return apply(acc, mantissa, exponent, limit);
    }

    /** {@link #apply(int, int)} for a multiplier given by its parts, for loops over many rows. */
    public static int apply(int acc, int mantissa, int exponent, int limit) {
        long product = (long) acc * mantissa; // |product| < 2^62
        int shift = 31 - exponent; // in 0..62
        long rounded;
        if (shift == 0) {
            rounded = product;
        } else {
            long half = 1L << (shift - 1);
            rounded = product >= 0 ? (product + half) >> shift : -((-product + half) >> shift);
        }
        return (int) Math.max(-limit, Math.min(limit, rounded));
    }
}
