package io.llmnpu.tck;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.RopeStyle;
import java.util.BitSet;

/**
 * The op semantics of {@link io.llmnpu.api.graph.Op}, written as plain loops in double precision.
 * Backends are checked against these, so they favour being obviously right over being fast: no
 * blocking, no vector code, no reuse of buffers. Activations are row-major [rows, cols] arrays;
 * weights arrive already decoded by {@link TensorDecoder}.
 */
public final class ReferenceOps {
    /** Largest INT8 activation code; -128 is never produced. */
    private static final int ACTIVATION_LIMIT = 127;
    private static final int OUTPUT_LIMIT = Op.QuantizedLinear.OUTPUT_LIMIT;

    private ReferenceOps() {
    }

    /** out[t] = table[tokens[t]] for a [vocab, dim] table. */
    public static double[] embedding(int[] tokens, double[] table, int vocab, int dim) {
        double[] out = new double[tokens.length * dim];
        for (int t = 0; t < tokens.length; t++) {
            int token = tokens[t];
            if (token < 0 || token >= vocab) {
                throw new IllegalArgumentException("token " + token + " at row " + t + " is outside 0.." + (vocab - 1));
            }
            System.arraycopy(table, token * dim, out, t * dim, dim);
        }
        return out;
    }

    /** out[t] = x[t] / sqrt(mean(x[t]^2) + eps) * weight. */
    public static double[] rmsNorm(double[] x, int rows, int n, double[] weight, double eps) {
        double[] out = new double[rows * n];
        for (int t = 0; t < rows; t++) {
            double sumSquares = 0;
            for (int i = 0; i < n; i++) {
                sumSquares += x[t * n + i] * x[t * n + i];
            }
            double inverseRms = 1.0 / Math.sqrt(sumSquares / n + eps);
            for (int i = 0; i < n; i++) {
                out[t * n + i] = x[t * n + i] * inverseRms * weight[i];
            }
        }
        return out;
    }

    /** out[t][o] = sum_i weight[o][i] * x[t][i] for a [out, in] weight. */
    public static double[] linear(double[] x, int rows, int in, double[] weight, int out) {
        double[] y = new double[rows * out];
        for (int t = 0; t < rows; t++) {
            for (int o = 0; o < out; o++) {
                double sum = 0;
                for (int i = 0; i < in; i++) {
                    sum += weight[o * in + i] * x[t * in + i];
                }
                y[t * out + o] = sum;
            }
        }
        return y;
    }

    /**
     * For each row of a Linear, the largest over its outputs of sqrt(sum_i (weight[o][i] * x[t][i])^2):
     * the size of the dot products' terms. Rounding, or quantizing the activations, perturbs every term
     * a little, so the error of an output scales with this rather than with the output itself, which
     * can be near zero by cancellation.
     */
    public static double[] linearTermNorms(double[] x, int rows, int in, double[] weight, int out) {
        double[] norms = new double[rows];
        for (int t = 0; t < rows; t++) {
            for (int o = 0; o < out; o++) {
                double sumSquares = 0;
                for (int i = 0; i < in; i++) {
                    double term = weight[o * in + i] * x[t * in + i];
                    sumSquares += term * term;
                }
                norms[t] = Math.max(norms[t], Math.sqrt(sumSquares));
            }
        }
        return norms;
    }

    /**
     * Rotary embedding of every head of every row. Pair i of a head (i < rotaryDims / 2) is
     * (2i, 2i + 1) for {@link RopeStyle#ADJACENT} and (i, i + rotaryDims / 2) for {@link RopeStyle#NEOX};
     * it turns by position * theta^(-2i / rotaryDims). Dimensions from rotaryDims on pass through, and
     * so does every row whose position is negative (padding).
     */
    public static double[] rope(double[] x, int rows, int cols, int[] positions, int headDim, int rotaryDims,
                                double theta, RopeStyle style) {
        return rope(x, rows, cols, positions, headDim, rotaryDims, theta, style, null);
    }

    /**
     * {@link #rope(double[], int, int, int[], int, int, double, RopeStyle)} with pair i turning by
     * position * theta^(-2i / rotaryDims) / freqFactors[i] ({@code freqFactors} null: all 1).
     */
    public static double[] rope(double[] x, int rows, int cols, int[] positions, int headDim, int rotaryDims,
                                double theta, RopeStyle style, double[] freqFactors) {
        if (freqFactors != null && freqFactors.length != rotaryDims / 2) {
            throw new IllegalArgumentException(freqFactors.length + " frequency factors for " + rotaryDims
                    + " rotary dimensions; expected " + rotaryDims / 2);
        }
        if (cols % headDim != 0 || rotaryDims % 2 != 0 || rotaryDims > headDim) {
            throw new IllegalArgumentException("rope over " + cols + " columns with head " + headDim
                    + " and rotary dims " + rotaryDims + " is not well formed");
        }
        double[] out = x.clone();
        int half = rotaryDims / 2;
        for (int t = 0; t < rows; t++) {
            int position = positions[t];
            if (position < 0) {
                continue;
            }
            for (int head = 0; head < cols / headDim; head++) {
                int base = t * cols + head * headDim;
                for (int i = 0; i < half; i++) {
                    double angle = position * Math.pow(theta, -2.0 * i / rotaryDims)
                            / (freqFactors == null ? 1.0 : freqFactors[i]);
                    double cos = Math.cos(angle);
                    double sin = Math.sin(angle);
                    int first = style == RopeStyle.ADJACENT ? base + 2 * i : base + i;
                    int second = style == RopeStyle.ADJACENT ? base + 2 * i + 1 : base + i + half;
                    out[first] = x[first] * cos - x[second] * sin;
                    out[second] = x[first] * sin + x[second] * cos;
                }
            }
        }
        return out;
    }

    /**
     * Causal grouped-query attention over a KV cache. First the k and v rows of every row with a
     * non-negative position are stored at that cache row (and marked in {@code writtenRows}); then
     * each such row attends, head by head, to cache rows 0..position with scores scaled by
     * 1/sqrt(headDim), query head h reading KV head h / (heads / kvHeads). Padding rows come out as
     * zeros. The caches are updated in place.
     */
    public static double[] attention(double[] q, double[] k, double[] v, int[] positions,
                                     double[] kCache, double[] vCache, int cacheRows,
                                     int heads, int kvHeads, int headDim, BitSet writtenRows) {
        return attention(q, k, v, positions, kCache, vCache, cacheRows, heads, kvHeads, headDim,
                1.0 / Math.sqrt(headDim), 0, 0, writtenRows);
    }

    /**
     * {@link #attention(double[], double[], double[], int[], double[], double[], int, int, int, int, BitSet)}
     * with the options of {@link Op.Attention}: scores {@code s = scale * q·k}, soft-capped to
     * {@code softCap * tanh(s / softCap)} when {@code softCap} is positive, and row position p attends
     * cache rows {@code max(0, p - window + 1)..p} ({@code window} 0: all of 0..p).
     */
    public static double[] attention(double[] q, double[] k, double[] v, int[] positions,
                                     double[] kCache, double[] vCache, int cacheRows,
                                     int heads, int kvHeads, int headDim, double scale, double softCap, int window,
                                     BitSet writtenRows) {
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException(heads + " heads do not divide into " + kvHeads + " KV heads");
        }
        int rows = positions.length;
        int qDim = heads * headDim;
        int kvDim = kvHeads * headDim;
        for (int t = 0; t < rows; t++) {
            int position = positions[t];
            if (position < 0) {
                continue;
            }
            if (position >= cacheRows) {
                throw new IllegalArgumentException("position " + position + " is past the cache of " + cacheRows + " rows");
            }
            System.arraycopy(k, t * kvDim, kCache, position * kvDim, kvDim);
            System.arraycopy(v, t * kvDim, vCache, position * kvDim, kvDim);
            writtenRows.set(position);
        }
        double[] out = new double[rows * qDim];
        int group = heads / kvHeads;
        for (int t = 0; t < rows; t++) {
            int position = positions[t];
            if (position < 0) {
                continue;
            }
            for (int h = 0; h < heads; h++) {
                int kvHead = h / group;
                int first = window == 0 ? 0 : Math.max(0, position - window + 1);
                double[] scores = new double[position + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = first; j <= position; j++) {
                    double dot = 0;
                    for (int d = 0; d < headDim; d++) {
                        dot += q[t * qDim + h * headDim + d] * kCache[j * kvDim + kvHead * headDim + d];
                    }
                    scores[j] = dot * scale;
                    if (softCap > 0) {
                        scores[j] = softCap * Math.tanh(scores[j] / softCap);
                    }
                    max = Math.max(max, scores[j]);
                }
                double sum = 0;
                for (int j = first; j <= position; j++) {
                    scores[j] = Math.exp(scores[j] - max);
                    sum += scores[j];
                }
                for (int d = 0; d < headDim; d++) {
                    double acc = 0;
                    for (int j = first; j <= position; j++) {
                        acc += scores[j] * vCache[j * kvDim + kvHead * headDim + d];
                    }
                    out[t * qDim + h * headDim + d] = acc / sum;
                }
            }
        }
        return out;
    }

    /** out = gate / (1 + exp(-gate)) * up. */
    public static double[] siluMul(double[] gate, double[] up) {
        double[] out = new double[gate.length];
        for (int i = 0; i < gate.length; i++) {
            out[i] = gate[i] / (1.0 + Math.exp(-gate[i])) * up[i];
        }
        return out;
    }

    /** GELU in its tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
    public static double gelu(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }

    /** out = gelu(x), elementwise. */
    public static double[] gelu(double[] x) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = gelu(x[i]);
        }
        return out;
    }

    /** out = gelu(gate) * up. */
    public static double[] geluMul(double[] gate, double[] up) {
        double[] out = new double[gate.length];
        for (int i = 0; i < gate.length; i++) {
            out[i] = gelu(gate[i]) * up[i];
        }
        return out;
    }

    /** out[t] = (x[t] - mean) / sqrt(variance + eps) * weight + bias ({@code bias} may be null). */
    public static double[] layerNorm(double[] x, int rows, int n, double[] weight, double[] bias, double eps) {
        double[] out = new double[rows * n];
        for (int t = 0; t < rows; t++) {
            double mean = 0;
            for (int i = 0; i < n; i++) {
                mean += x[t * n + i];
            }
            mean /= n;
            double variance = 0;
            for (int i = 0; i < n; i++) {
                double d = x[t * n + i] - mean;
                variance += d * d;
            }
            variance /= n;
            double inverse = 1.0 / Math.sqrt(variance + eps);
            for (int i = 0; i < n; i++) {
                out[t * n + i] = (x[t * n + i] - mean) * inverse * weight[i] + (bias == null ? 0 : bias[i]);
            }
        }
        return out;
    }

    /** out[t] = x[t] + bias for every row of a [rows, n] activation. */
    public static double[] addBias(double[] x, int rows, int n, double[] bias) {
        double[] out = new double[rows * n];
        for (int t = 0; t < rows; t++) {
            for (int i = 0; i < n; i++) {
                out[t * n + i] = x[t * n + i] + bias[i];
            }
        }
        return out;
    }

    /** out = x * factor. */
    public static double[] scale(double[] x, double factor) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] * factor;
        }
        return out;
    }

    /** out = cap * tanh(x / cap). */
    public static double[] softCap(double[] x, double cap) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = cap * Math.tanh(x[i] / cap);
        }
        return out;
    }

    public static double[] add(double[] a, double[] b) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i] + b[i];
        }
        return out;
    }

    /** Row {@code row} of a [rows, n] activation, as [1, n]. */
    public static double[] selectRow(double[] x, int rows, int n, int row) {
        if (row < 0 || row >= rows) {
            throw new IllegalArgumentException("row " + row + " is outside 0.." + (rows - 1));
        }
        double[] out = new double[n];
        System.arraycopy(x, row * n, out, 0, n);
        return out;
    }

    /**
     * {@link Op.QuantizedLinear} in exact integer arithmetic. Codes are
     * {@code clamp(rint(x / inputScale), -127, 127)} where the quotient is the F32 division of two F32
     * values (computed in double and rounded once to float, which is exactly the correctly rounded F32
     * quotient since double carries more than twice float's significand), so every conforming device
     * gets the same codes. Accumulators are exact (long, range-checked against INT32). Without an output
     * scale the result is {@code acc * inputScale * scale(r)} in double; with one it is {@code q16 *
     * outputScale} with {@code q16 = clamp(round(acc * inputScale * scale(r) / outputScale), -32767,
     * 32767)}, ties away from zero.
     *
     * @param codes       the [out, in] INT8 weight codes, row-major
     * @param scales      one scale per output row (a per-tensor scale repeated)
     * @param outputScale 0 for no requantization
     */
    public static double[] quantizedLinear(double[] x, int rows, int in, byte[] codes, double[] scales, int out,
                                           float inputScale, float outputScale) {
        int[] q = quantizeActivations(x, inputScale);
        double[] y = new double[rows * out];
        for (int t = 0; t < rows; t++) {
            for (int o = 0; o < out; o++) {
                long acc = 0;
                for (int i = 0; i < in; i++) {
                    acc += (long) q[t * in + i] * codes[o * in + i];
                }
                if (acc != (int) acc) {
                    throw new IllegalArgumentException("INT32 accumulator overflows at row " + t + " output " + o);
                }
                double real = acc * ((double) inputScale * scales[o]);
                if (outputScale == 0) {
                    y[t * out + o] = real;
                } else {
                    double q16 = roundHalfAway(real / outputScale);
                    q16 = Math.max(-OUTPUT_LIMIT, Math.min(OUTPUT_LIMIT, q16));
                    y[t * out + o] = q16 * outputScale;
                }
            }
        }
        return y;
    }

    /** The per-tensor INT8 codes of {@code x}: {@code clamp(rint(f32(x / scale)), -127, 127)}. */
    public static int[] quantizeActivations(double[] x, float scale) {
        int[] q = new int[x.length];
        for (int i = 0; i < x.length; i++) {
            float quotient = (float) (x[i] / scale);
            q[i] = (int) Math.max(-ACTIVATION_LIMIT, Math.min(ACTIVATION_LIMIT, Math.rint(quotient)));
        }
        return q;
    }

    private static double roundHalfAway(double v) {
        return Math.signum(v) * Math.floor(Math.abs(v) + 0.5);
    }

    /**
     * What per-tensor INT8 quantization with clip range {@code threshold} loses of each value:
     * {@code x - clamp(x, -threshold, threshold)}, zero for every value within the range.
     */
    public static double[] clipResidual(double[] x, double threshold) {
        double[] r = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            if (Math.abs(x[i]) > threshold) {
                r[i] = x[i] - Math.max(-threshold, Math.min(threshold, x[i]));
            }
        }
        return r;
    }

    /** {@link Op.OutlierShadow}: {@code weight · clipResidual(x)} row by row. */
    public static double[] outlierShadow(double[] x, int rows, int in, double threshold, double[] weight, int out) {
        return linear(clipResidual(x, threshold), rows, in, weight, out);
    }

    /**
     * {@link Op.ShadowMerge}: {@code npu + shadow}, except entries with
     * {@code |npu| >= limit}, which are {@code weight[o] · x[t]}.
     */
    public static double[] shadowMerge(double[] npu, double[] shadow, double[] x, int rows, int in, double[] weight,
                                       int out, double limit) {
        double[] y = new double[rows * out];
        for (int t = 0; t < rows; t++) {
            for (int o = 0; o < out; o++) {
                int i = t * out + o;
                if (Math.abs(npu[i]) >= limit) {
                    double sum = 0;
                    for (int c = 0; c < in; c++) {
                        sum += weight[o * in + c] * x[t * in + c];
                    }
                    y[i] = sum;
                } else {
                    y[i] = npu[i] + shadow[i];
                }
            }
        }
        return y;
    }
}
