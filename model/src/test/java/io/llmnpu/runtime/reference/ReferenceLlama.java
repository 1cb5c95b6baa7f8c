package io.llmnpu.runtime.reference;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A deliberately plain Llama forward pass in double precision over a llama2.c legacy checkpoint:
 * scalar loops, its own file parsing, its own KV cache, nothing shared with the engine. It is slow
 * and only meant for tiny models; it exists so that the real engine has an independent reference.
 */
public final class ReferenceLlama {

    private static final double RMS_EPS = 1e-5;
    private static final double ROPE_THETA = 10000.0;

    public final int dim;
    public final int hiddenDim;
    public final int layers;
    public final int heads;
    public final int kvHeads;
    public final int vocabSize;
    public final int seqLen;
    private final int headSize;
    private final int kvDim;

    private final double[] tokenEmbedding; // [vocab][dim]
    private final double[][] rmsAtt;       // [layer][dim]
    private final double[][] wq;           // [layer][dim][dim]
    private final double[][] wk;           // [layer][kvDim][dim]
    private final double[][] wv;           // [layer][kvDim][dim]
    private final double[][] wo;           // [layer][dim][dim]
    private final double[][] rmsFfn;       // [layer][dim]
    private final double[][] w1;           // [layer][hidden][dim]
    private final double[][] w2;           // [layer][dim][hidden]
    private final double[][] w3;           // [layer][hidden][dim]
    private final double[] rmsFinal;       // [dim]
    private final double[] classifier;     // [vocab][dim]

    private final double[][] keyCache;     // [layer][seqLen * kvDim]
    private final double[][] valueCache;   // [layer][seqLen * kvDim]

    public ReferenceLlama(Path checkpoint) throws IOException {
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(checkpoint)).order(ByteOrder.LITTLE_ENDIAN);
        dim = in.getInt();
        hiddenDim = in.getInt();
        layers = in.getInt();
        heads = in.getInt();
        kvHeads = in.getInt();
        int rawVocab = in.getInt();
        seqLen = in.getInt();
        boolean sharedClassifier = rawVocab > 0;
        vocabSize = Math.abs(rawVocab);
        headSize = dim / heads;
        kvDim = dim * kvHeads / heads;

        tokenEmbedding = floats(in, vocabSize * dim);
        rmsAtt = perLayer(in, dim);
        wq = perLayer(in, dim * dim);
        wk = perLayer(in, kvDim * dim);
        wv = perLayer(in, kvDim * dim);
        wo = perLayer(in, dim * dim);
        rmsFfn = perLayer(in, dim);
        w1 = perLayer(in, hiddenDim * dim);
        w2 = perLayer(in, dim * hiddenDim);
        w3 = perLayer(in, hiddenDim * dim);
        rmsFinal = floats(in, dim);
        in.position(in.position() + 2 * 4 * (seqLen * headSize / 2)); // obsolete freq_cis tables
        classifier = sharedClassifier ? tokenEmbedding : floats(in, vocabSize * dim);
        if (in.remaining() != 0) {
            throw new IOException(checkpoint + ": " + in.remaining() + " bytes left after the last tensor");
        }
        keyCache = new double[layers][seqLen * kvDim];
        valueCache = new double[layers][seqLen * kvDim];
    }

    private static double[] floats(ByteBuffer in, int count) {
        double[] out = new double[count];
        for (int i = 0; i < count; i++) {
            out[i] = in.getFloat();
        }
        return out;
    }

    private double[][] perLayer(ByteBuffer in, int count) {
        double[][] out = new double[layers][];
        for (int l = 0; l < layers; l++) {
            out[l] = floats(in, count);
        }
        return out;
    }

    /** Logits for the token after {@code token} at position {@code pos}; positions must come in order. */
    public double[] forward(int token, int pos) {
        double[] x = new double[dim];
        System.arraycopy(tokenEmbedding, token * dim, x, 0, dim);

        for (int l = 0; l < layers; l++) {
            double[] xb = rmsNorm(x, rmsAtt[l]);
            double[] q = matVec(wq[l], xb, dim, dim);
            double[] k = matVec(wk[l], xb, kvDim, dim);
            double[] v = matVec(wv[l], xb, kvDim, dim);
            rotate(q, pos);
            rotate(k, pos);
            System.arraycopy(k, 0, keyCache[l], pos * kvDim, kvDim);
            System.arraycopy(v, 0, valueCache[l], pos * kvDim, kvDim);

            double[] attended = new double[dim];
            int queriesPerKv = heads / kvHeads;
            for (int h = 0; h < heads; h++) {
                int kvOffset = (h / queriesPerKv) * headSize;
                double[] scores = new double[pos + 1];
                for (int t = 0; t <= pos; t++) {
                    double s = 0;
                    for (int i = 0; i < headSize; i++) {
                        s += q[h * headSize + i] * keyCache[l][t * kvDim + kvOffset + i];
                    }
                    scores[t] = s / Math.sqrt(headSize);
                }
                softmax(scores);
                for (int t = 0; t <= pos; t++) {
                    for (int i = 0; i < headSize; i++) {
                        attended[h * headSize + i] += scores[t] * valueCache[l][t * kvDim + kvOffset + i];
                    }
                }
            }
            double[] attentionOut = matVec(wo[l], attended, dim, dim);
            for (int i = 0; i < dim; i++) {
                x[i] += attentionOut[i];
            }

            double[] xf = rmsNorm(x, rmsFfn[l]);
            double[] gate = matVec(w1[l], xf, hiddenDim, dim);
            double[] up = matVec(w3[l], xf, hiddenDim, dim);
            double[] hidden = new double[hiddenDim];
            for (int i = 0; i < hiddenDim; i++) {
                double g = gate[i];
                hidden[i] = g / (1 + Math.exp(-g)) * up[i];
            }
            double[] ffnOut = matVec(w2[l], hidden, dim, hiddenDim);
            for (int i = 0; i < dim; i++) {
                x[i] += ffnOut[i];
            }
        }
        return matVec(classifier, rmsNorm(x, rmsFinal), vocabSize, dim);
    }

    /** RoPE on adjacent pairs (2i, 2i+1) of every head, as llama2.c does. */
    private void rotate(double[] vec, int pos) {
        for (int i = 0; i < vec.length; i += 2) {
            int inHead = i % headSize;
            double frequency = Math.pow(ROPE_THETA, -(double) inHead / headSize);
            double angle = pos * frequency;
            double cos = Math.cos(angle);
            double sin = Math.sin(angle);
            double a = vec[i];
            double b = vec[i + 1];
            vec[i] = a * cos - b * sin;
            vec[i + 1] = a * sin + b * cos;
        }
    }

    private static double[] rmsNorm(double[] x, double[] weight) {
        double squares = 0;
        for (double v : x) {
            squares += v * v;
        }
        double scale = 1 / Math.sqrt(squares / x.length + RMS_EPS);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = weight[i] * x[i] * scale;
        }
        return out;
    }

    /** Row-major [rows][cols] matrix times a vector. */
    private static double[] matVec(double[] w, double[] x, int rows, int cols) {
        double[] out = new double[rows];
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int c = 0; c < cols; c++) {
                s += w[r * cols + c] * x[c];
            }
            out[r] = s;
        }
        return out;
    }

    private static void softmax(double[] x) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : x) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (int i = 0; i < x.length; i++) {
            x[i] = Math.exp(x[i] - max);
            sum += x[i];
        }
        for (int i = 0; i < x.length; i++) {
            x[i] /= sum;
        }
    }
}
