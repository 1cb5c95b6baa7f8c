package io.llmnpu.backend.cpu;

import io.llmnpu.api.graph.RopeStyle;

/**
 * Scalar double-precision reference implementations of every op, written as plain loops straight from
 * the op definitions, to check the vector kernels against. Activations are row-major [rows, width].
 */
final class Reference {

    private Reference() {
    }

    /** out[t] = w · x[t] for w [n, k] (already decoded to real values). */
    static double[] linear(double[] w, int n, int k, float[] x, int tokens) {
        double[] out = new double[tokens * n];
        for (int t = 0; t < tokens; t++) {
            for (int r = 0; r < n; r++) {
                double sum = 0;
                for (int i = 0; i < k; i++) {
                    sum += w[r * k + i] * x[t * k + i];
                }
                out[t * n + r] = sum;
            }
        }
        return out;
    }

    static double[] rmsNorm(float[] x, int rows, int width, float[] weight, float eps) {
        double[] out = new double[rows * width];
        for (int t = 0; t < rows; t++) {
            double ss = 0;
            for (int i = 0; i < width; i++) {
                ss += (double) x[t * width + i] * x[t * width + i];
            }
            double inv = 1.0 / Math.sqrt(ss / width + eps);
            for (int i = 0; i < width; i++) {
                out[t * width + i] = x[t * width + i] * inv * weight[i];
            }
        }
        return out;
    }

    static double[] rope(float[] x, int rows, int width, int[] positions, int headDim, int rotaryDims,
                         double theta, RopeStyle style) {
        double[] out = new double[rows * width];
        for (int i = 0; i < out.length; i++) {
            out[i] = x[i];
        }
        int half = rotaryDims / 2;
        for (int t = 0; t < rows; t++) {
            if (positions[t] < 0) {
                continue;
            }
            for (int h = 0; h < width / headDim; h++) {
                int base = t * width + h * headDim;
                for (int i = 0; i < half; i++) {
                    double angle = positions[t] * Math.pow(theta, -2.0 * i / rotaryDims);
                    int a = style == RopeStyle.ADJACENT ? base + 2 * i : base + i;
                    int b = style == RopeStyle.ADJACENT ? base + 2 * i + 1 : base + i + half;
                    double x0 = x[a];
                    double x1 = x[b];
                    out[a] = x0 * Math.cos(angle) - x1 * Math.sin(angle);
                    out[b] = x0 * Math.sin(angle) + x1 * Math.cos(angle);
                }
            }
        }
        return out;
    }

    /**
     * Attention as Op.Attention defines it. {@code kCache} and {@code vCache} ([context, kvHeads*headDim])
     * are updated in place.
     */
    static double[] attention(float[] q, float[] k, float[] v, int[] positions, float[] kCache, float[] vCache,
                              int rows, int heads, int kvHeads, int headDim) {
        int kvWidth = kvHeads * headDim;
        for (int t = 0; t < rows; t++) {
            if (positions[t] >= 0) {
                for (int i = 0; i < kvWidth; i++) {
                    kCache[positions[t] * kvWidth + i] = k[t * kvWidth + i];
                    vCache[positions[t] * kvWidth + i] = v[t * kvWidth + i];
                }
            }
        }
        double[] out = new double[rows * heads * headDim];
        int group = heads / kvHeads;
        for (int t = 0; t < rows; t++) {
            int pos = positions[t];
            if (pos < 0) {
                continue;
            }
            for (int h = 0; h < heads; h++) {
                int qBase = (t * heads + h) * headDim;
                int kvBase = (h / group) * headDim;
                double[] scores = new double[pos + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= pos; j++) {
                    double s = 0;
                    for (int d = 0; d < headDim; d++) {
                        s += (double) q[qBase + d] * kCache[j * kvWidth + kvBase + d];
                    }
                    scores[j] = s / Math.sqrt(headDim);
                    max = Math.max(max, scores[j]);
                }
                double sum = 0;
                for (int j = 0; j <= pos; j++) {
                    scores[j] = Math.exp(scores[j] - max);
                    sum += scores[j];
                }
                for (int d = 0; d < headDim; d++) {
                    double acc = 0;
                    for (int j = 0; j <= pos; j++) {
                        acc += scores[j] / sum * vCache[j * kvWidth + kvBase + d];
                    }
                    out[qBase + d] = acc;
                }
            }
        }
        return out;
    }

    static double[] siluMul(float[] gate, float[] up) {
        double[] out = new double[gate.length];
        for (int i = 0; i < gate.length; i++) {
            double g = gate[i];
            out[i] = g / (1 + Math.exp(-g)) * up[i];
        }
        return out;
    }

    static double[] add(float[] a, float[] b) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = (double) a[i] + b[i];
        }
        return out;
    }

    /** out[t] = table[tokens[t]] for a decoded table [vocab, dim]. */
    static double[] embedding(double[] table, int dim, int[] tokens) {
        double[] out = new double[tokens.length * dim];
        for (int t = 0; t < tokens.length; t++) {
            System.arraycopy(table, tokens[t] * dim, out, t * dim, dim);
        }
        return out;
    }

    static double[] selectRow(float[] x, int width, int row) {
        double[] out = new double[width];
        for (int i = 0; i < width; i++) {
            out[i] = x[row * width + i];
        }
        return out;
    }
}
