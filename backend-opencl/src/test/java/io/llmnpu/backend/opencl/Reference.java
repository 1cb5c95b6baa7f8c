package io.llmnpu.backend.opencl;

import io.llmnpu.api.graph.RopeStyle;

/**
 * Scalar double-precision implementations of the op semantics in {@link io.llmnpu.api.graph.Op},
 * written from the op documentation, for checking the kernels.
 */
final class Reference {
    private Reference() {
    }

    static double[][] linear(double[][] x, double[][] w) {
        double[][] y = new double[x.length][w.length];
        for (int t = 0; t < x.length; t++) {
            for (int n = 0; n < w.length; n++) {
                double s = 0;
                for (int k = 0; k < x[t].length; k++) {
                    s += w[n][k] * x[t][k];
                }
                y[t][n] = s;
            }
        }
        return y;
    }

    /** Sum of |w[n][k] * x[t][k]|: the scale a float dot product's rounding error grows with. */
    static double[][] linearMagnitude(double[][] x, double[][] w) {
        double[][] y = new double[x.length][w.length];
        for (int t = 0; t < x.length; t++) {
            for (int n = 0; n < w.length; n++) {
                double s = 0;
                for (int k = 0; k < x[t].length; k++) {
                    s += Math.abs(w[n][k] * x[t][k]);
                }
                y[t][n] = s;
            }
        }
        return y;
    }

    static double[][] rmsNorm(double[][] x, double[] weight, double eps) {
        double[][] y = new double[x.length][];
        for (int t = 0; t < x.length; t++) {
            double ss = 0;
            for (double v : x[t]) {
                ss += v * v;
            }
            double scale = 1 / Math.sqrt(ss / x[t].length + eps);
            y[t] = new double[x[t].length];
            for (int i = 0; i < x[t].length; i++) {
                y[t][i] = x[t][i] * scale * weight[i];
            }
        }
        return y;
    }

    static double[][] rope(double[][] x, int[] positions, int headDim, int rotaryDims, double theta, RopeStyle style) {
        double[][] y = new double[x.length][];
        for (int t = 0; t < x.length; t++) {
            y[t] = x[t].clone();
            if (positions[t] < 0) {
                continue;
            }
            for (int head = 0; head < x[t].length / headDim; head++) {
                int base = head * headDim;
                for (int i = 0; i < rotaryDims / 2; i++) {
                    double angle = positions[t] * Math.pow(theta, -2.0 * i / rotaryDims);
                    double c = Math.cos(angle);
                    double s = Math.sin(angle);
                    int a = style == RopeStyle.ADJACENT ? base + 2 * i : base + i;
                    int b = style == RopeStyle.ADJACENT ? base + 2 * i + 1 : base + i + rotaryDims / 2;
                    y[t][a] = x[t][a] * c - x[t][b] * s;
                    y[t][b] = x[t][a] * s + x[t][b] * c;
                }
            }
        }
        return y;
    }

    /**
     * Attention as the op defines it; updates {@code kCache} and {@code vCache} in place and returns
     * the output rows (zeros for padding rows).
     */
    static double[][] attention(double[][] q, double[][] k, double[][] v, int[] positions, double[][] kCache,
                                double[][] vCache, int heads, int kvHeads, int headDim) {
        int rows = q.length;
        for (int t = 0; t < rows; t++) {
            if (positions[t] >= 0) {
                kCache[positions[t]] = k[t].clone();
                vCache[positions[t]] = v[t].clone();
            }
        }
        double[][] out = new double[rows][heads * headDim];
        double scale = 1 / Math.sqrt(headDim);
        int group = heads / kvHeads;
        for (int t = 0; t < rows; t++) {
            int pos = positions[t];
            if (pos < 0) {
                continue;
            }
            for (int h = 0; h < heads; h++) {
                int kv = (h / group) * headDim;
                double[] scores = new double[pos + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= pos; j++) {
                    double s = 0;
                    for (int d = 0; d < headDim; d++) {
                        s += q[t][h * headDim + d] * kCache[j][kv + d];
                    }
                    scores[j] = s * scale;
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
                        acc += scores[j] * vCache[j][kv + d];
                    }
                    out[t][h * headDim + d] = acc / sum;
                }
            }
        }
        return out;
    }

    static double silu(double g) {
        return g / (1 + Math.exp(-g));
    }

    /** y[t][n] + sum over channels c of w[n][c] * x[t][c]. */
    static double[][] outlier(double[][] x, double[][] w, int[] channels, double[][] y) {
        double[][] out = new double[y.length][];
        for (int t = 0; t < y.length; t++) {
            out[t] = y[t].clone();
            for (int n = 0; n < w.length; n++) {
                for (int c : channels) {
                    out[t][n] += w[n][c] * x[t][c];
                }
            }
        }
        return out;
    }
}
