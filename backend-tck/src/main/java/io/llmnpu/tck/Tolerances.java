package io.llmnpu.tck;

import io.llmnpu.api.tensor.DType;
import java.util.Objects;

/**
 * How far a backend's F32 results may be from the double-precision reference. A value passes when
 * {@code |actual - expected| <= abs + rel * rowMagnitude}, where rowMagnitude is the largest |expected|
 * in the same output row: errors of a dot product or a softmax scale with the row, not with the single
 * element, so a small element in a large row may carry the row's rounding. For Linear outputs the row
 * magnitude is at least the largest root sum of squares of a dot product's terms,
 * sqrt(sum_i (w[o][i] * x[i])^2), since every term carries rounding (or activation quantization) error
 * and a row of few outputs may all be small by cancellation. NaN or infinity never passes.
 *
 * <p>The bound is chosen by the weight type of the op (Linear, Embedding); ops without weights and
 * ops with F32 weights use {@link #f32}. A graph of several ops multiplies its weight type's bound by
 * {@link #compositeFactor}, since rounding compounds from op to op.
 *
 * @param f32             F32 weights and weightless ops
 * @param f16             F16 weights
 * @param bf16            BF16 weights
 * @param q8_0            Q8_0 weights
 * @param q4_0            Q4_0 weights
 * @param blockQuants     the other block-quantized weights: Q4_1, Q5_0, Q5_1, IQ4_NL and the k-quants
 *                        Q2_K, Q3_K, Q4_K, Q5_K, Q6_K
 * @param compositeFactor multiplier for graphs of several ops
 */
public record Tolerances(Bound f32, Bound f16, Bound bf16, Bound q8_0, Bound q4_0, Bound blockQuants,
                         double compositeFactor) {

    /** An absolute floor plus a part relative to the row's magnitude. */
    public record Bound(double abs, double rel) {
        public Bound {
            if (!(abs >= 0) || !(rel >= 0)) {
                throw new IllegalArgumentException("tolerance must be non-negative, got abs " + abs + " rel " + rel);
            }
        }

        public double allowed(double rowMagnitude) {
            return abs + rel * rowMagnitude;
        }

        public Bound times(double factor) {
            return new Bound(abs * factor, rel * factor);
        }

        @Override
        public String toString() {
            return "abs " + abs + " + rel " + rel + " x row magnitude";
        }
    }

    public Tolerances {
        Objects.requireNonNull(f32, "f32");
        Objects.requireNonNull(f16, "f16");
        Objects.requireNonNull(bf16, "bf16");
        Objects.requireNonNull(q8_0, "q8_0");
        Objects.requireNonNull(q4_0, "q4_0");
        Objects.requireNonNull(blockQuants, "blockQuants");
        if (!(compositeFactor >= 1)) {
            throw new IllegalArgumentException("compositeFactor must be >= 1, got " + compositeFactor);
        }
    }

    /**
     * The bounds every backend is held to by default:
     * <ul>
     *   <li>F32: abs 1e-4 + rel 1e-4: float32 arithmetic in any summation order;</li>
     *   <li>F16: abs 1e-3 + rel 2e-3: room for a device that also rounds activations to F16
     *       (11-bit significand);</li>
     *   <li>BF16: abs 1e-3 + rel 1e-2: room for BF16 activations (8-bit significand);</li>
     *   <li>Q8_0, Q4_0 and the other block types: abs 1e-3 + rel 3e-2: room for activations quantized
     *       to 8 bits per 32-value (k-quants: 256-value) block before an integer dot product, as
     *       llama.cpp's CPU kernels do;</li>
     *   <li>graphs of several ops: 10 times the bound of their weight type.</li>
     * </ul>
     * Decoding a weight block wrongly (nibble order, scale format, block stride) is off by the size of
     * the values themselves, far outside every bound.
     */
    public static Tolerances standard() {
        return new Tolerances(
                new Bound(1e-4, 1e-4),
                new Bound(1e-3, 2e-3),
                new Bound(1e-3, 1e-2),
                new Bound(1e-3, 3e-2),
                new Bound(1e-3, 3e-2),
                new Bound(1e-3, 3e-2),
                10);
    }

    /** The bound for an op whose weights are {@code weightType} ({@code F32} for weightless ops). */
    public Bound forWeights(DType weightType) {
        return switch (weightType) {
            case F32 -> f32;
            case F16 -> f16;
            case BF16 -> bf16;
            case Q8_0 -> q8_0;
            case Q4_0 -> q4_0;
            case Q4_1, Q5_0, Q5_1, IQ4_NL, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K -> blockQuants;
            case I8, I32 -> throw new IllegalArgumentException("no reference tolerance for " + weightType + " weights");
        };
    }

    /** The bound for a graph of several ops whose weights are {@code weightType}. */
    public Bound forComposite(DType weightType) {
        return forWeights(weightType).times(compositeFactor);
    }

    /** Every bound multiplied by {@code factor}: a simple way for a lower-precision device to widen them. */
    public Tolerances scaled(double factor) {
        return new Tolerances(f32.times(factor), f16.times(factor), bf16.times(factor),
                q8_0.times(factor), q4_0.times(factor), blockQuants.times(factor), compositeFactor);
    }

    /**
     * The bound of an INT8 {@link io.llmnpu.api.graph.Op.QuantizedLinear}, the same for every device
     * and not widened by {@link #scaled}: its semantics are integer, so a conforming device computes the
     * reference's activation codes and INT32 accumulators exactly (the codes come from the correctly
     * rounded F32 quotient the op names). What remains:
     * <ul>
     *   <li>the dequantization to F32 ({@code acc * inputScale * scale(r)}, or {@code q16 * outputScale}):
     *       a few F32 roundings, allowed as rel 1e-6 of the row magnitude (4 to 8 units in the last
     *       place of a float);</li>
     *   <li>with an output scale, one INT16 code ({@code outputScale} absolute): a device applies the
     *       requantization multiplier in fixed point (a 31-bit mantissa on an NPU), whose error of about
     *       2^-31 relative can move a product that lies within that distance of a rounding tie to the
     *       neighbouring code; that is one step of the requantized output and never more.</li>
     * </ul>
     * A wrong input code (truncation instead of rounding, a saturation limit of 128, a wrong scale) moves
     * an output by at least one weight code times {@code inputScale * scale(r)}, a relative change of
     * 1e-3 or more of the row at the case sizes, far outside the bound; a wrong INT16 rounding mode or
     * saturation shows as more than one code wherever it matters.
     */
    public Bound quantizedLinear(float outputScale) {
        return new Bound(outputScale, 1e-6);
    }
}
