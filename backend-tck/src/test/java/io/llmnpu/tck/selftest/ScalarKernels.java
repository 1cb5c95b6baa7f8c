package io.llmnpu.tck.selftest;

import io.llmnpu.api.tensor.Dequantizer;
import io.llmnpu.api.tensor.Int8Weights;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Float32 kernels of the test backend, one plain loop nest per op. Written apart from the suite's
 * double-precision reference (different precision, different decoding code) so that the self-test
 * compares two independent implementations.
 */
final class ScalarKernels {
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private ScalarKernels() {
    }

    /** Decodes a weight tensor to F32 in {@code arena} once, at compile time. */
    static MemorySegment unpack(Tensor t, Arena arena, boolean interleavedQ4) {
        long n = t.shape().elements();
        MemorySegment out = arena.allocate(n * Float.BYTES, 64);
        MemorySegment in = t.data();
        switch (t.dtype()) {
            case F32 -> MemorySegment.copy(in, 0, out, 0, n * Float.BYTES);
            case F16 -> {
                for (long i = 0; i < n; i++) {
                    out.setAtIndex(F32, i, Float.float16ToFloat(in.getAtIndex(U16, i)));
                }
            }
            case BF16 -> {
                for (long i = 0; i < n; i++) {
                    out.setAtIndex(F32, i, Float.intBitsToFloat(Short.toUnsignedInt(in.getAtIndex(U16, i)) << 16));
                }
            }
            case Q8_0 -> {
                for (long b = 0; b < n / 32; b++) {
                    long at = b * 34;
                    float d = Float.float16ToFloat(in.get(U16, at));
                    for (int j = 0; j < 32; j++) {
                        out.setAtIndex(F32, b * 32 + j, in.get(ValueLayout.JAVA_BYTE, at + 2 + j) * d);
                    }
                }
            }
            case Q4_0 -> {
                for (long b = 0; b < n / 32; b++) {
                    long at = b * 18;
                    float d = Float.float16ToFloat(in.get(U16, at));
                    for (int j = 0; j < 16; j++) {
                        int q = in.get(ValueLayout.JAVA_BYTE, at + 2 + j) & 0xff;
                        long lo = interleavedQ4 ? b * 32 + 2L * j : b * 32 + j;
                        long hi = interleavedQ4 ? b * 32 + 2L * j + 1 : b * 32 + j + 16;
                        out.setAtIndex(F32, lo, ((q & 0xf) - 8) * d);
                        out.setAtIndex(F32, hi, ((q >> 4) - 8) * d);
                    }
                }
            }
            case Q4_1, Q5_0, Q5_1, IQ4_NL, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K -> {
                float[] values = Dequantizer.dequantize(t.dtype(), in, Math.toIntExact(n));
                MemorySegment.copy(values, 0, out, F32, 0, values.length);
            }
            default -> throw new IllegalArgumentException("cannot unpack " + t.dtype());
        }
        return out;
    }

    static void embedding(MemorySegment tokens, MemorySegment table, int rows, int dim, MemorySegment out) {
        for (int t = 0; t < rows; t++) {
            long token = tokens.getAtIndex(I32, t);
            MemorySegment.copy(table, token * dim * Float.BYTES, out, (long) t * dim * Float.BYTES, (long) dim * Float.BYTES);
        }
    }

    static void rmsNorm(MemorySegment in, MemorySegment weight, float eps, int rows, int n, MemorySegment out,
                        boolean ignoreEps) {
        for (int t = 0; t < rows; t++) {
            float ss = 0;
            for (int i = 0; i < n; i++) {
                float x = in.getAtIndex(F32, (long) t * n + i);
                ss += x * x;
            }
            float scale = (float) (1.0 / Math.sqrt(ss / n + (ignoreEps ? 0 : eps)));
            for (int i = 0; i < n; i++) {
                long at = (long) t * n + i;
                out.setAtIndex(F32, at, in.getAtIndex(F32, at) * scale * weight.getAtIndex(F32, i));
            }
        }
    }

    /**
     * out[t] = W in[t], with the row's activations first rounded as {@code rounding} says. Each output
     * row is gathered in {@code acc} and then stored; {@code beforeStore} runs in between (the hook the
     * shared-accumulator defect uses).
     */
    static void linear(MemorySegment in, MemorySegment weight, int rows, int inF, int outF, MemorySegment out,
                       ActivationRounding rounding, float[] acc, Runnable beforeStore) {
        float[] x = new float[inF];
        for (int t = 0; t < rows; t++) {
            MemorySegment.copy(in, F32, (long) t * inF * Float.BYTES, x, 0, inF);
            float[] rounded = rounding.apply(x);
            for (int o = 0; o < outF; o++) {
                float sum = 0;
                for (int i = 0; i < inF; i++) {
                    sum += weight.getAtIndex(F32, (long) o * inF + i) * rounded[i];
                }
                acc[o] = sum;
            }
            beforeStore.run();
            for (int o = 0; o < outF; o++) {
                out.setAtIndex(F32, (long) t * outF + o, acc[o]);
            }
        }
    }

    static void rope(MemorySegment in, MemorySegment positions, int rows, int cols, int headDim, int rotaryDims,
                     float theta, boolean neox, MemorySegment freqFactors, MemorySegment out) {
        MemorySegment.copy(in, 0, out, 0, (long) rows * cols * Float.BYTES);
        int half = rotaryDims / 2;
        for (int t = 0; t < rows; t++) {
            int pos = positions.getAtIndex(I32, t);
            if (pos < 0) {
                continue;
            }
            for (int h = 0; h < cols / headDim; h++) {
                long base = (long) t * cols + (long) h * headDim;
                for (int i = 0; i < half; i++) {
                    double angle = pos * Math.pow(theta, -2.0 * i / rotaryDims)
                            / (freqFactors == null ? 1f : freqFactors.getAtIndex(F32, i));
                    float c = (float) Math.cos(angle);
                    float s = (float) Math.sin(angle);
                    long a = neox ? base + i : base + 2L * i;
                    long b = neox ? base + i + half : base + 2L * i + 1;
                    float x0 = in.getAtIndex(F32, a);
                    float x1 = in.getAtIndex(F32, b);
                    out.setAtIndex(F32, a, x0 * c - x1 * s);
                    out.setAtIndex(F32, b, x0 * s + x1 * c);
                }
            }
        }
    }

    static void attention(MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment positions,
                          MemorySegment kCache, MemorySegment vCache, int rows, int heads, int kvHeads, int headDim,
                          float scale, float softCap, int window, MemorySegment out, boolean interleavedHeads) {
        int qDim = heads * headDim;
        int kvDim = kvHeads * headDim;
        long rowBytes = (long) kvDim * Float.BYTES;
        for (int t = 0; t < rows; t++) {
            int pos = positions.getAtIndex(I32, t);
            if (pos >= 0) {
                MemorySegment.copy(k, t * rowBytes, kCache, pos * rowBytes, rowBytes);
                MemorySegment.copy(v, t * rowBytes, vCache, pos * rowBytes, rowBytes);
            }
        }
        for (int t = 0; t < rows; t++) {
            int pos = positions.getAtIndex(I32, t);
            int first = window == 0 ? 0 : Math.max(0, pos - window + 1);
            for (int h = 0; h < heads; h++) {
                long o = (long) t * qDim + (long) h * headDim;
                if (pos < 0) {
                    for (int d = 0; d < headDim; d++) {
                        out.setAtIndex(F32, o + d, 0f);
                    }
                    continue;
                }
                int kvh = interleavedHeads ? h % kvHeads : h / (heads / kvHeads);
                float[] p = new float[pos + 1];
                float max = Float.NEGATIVE_INFINITY;
                for (int j = first; j <= pos; j++) {
                    float dot = 0;
                    for (int d = 0; d < headDim; d++) {
                        dot += q.getAtIndex(F32, o + d) * kCache.getAtIndex(F32, (long) j * kvDim + (long) kvh * headDim + d);
                    }
                    p[j] = dot * scale;
                    if (softCap > 0) {
                        p[j] = softCap * (float) Math.tanh(p[j] / softCap);
                    }
                    max = Math.max(max, p[j]);
                }
                float sum = 0;
                for (int j = first; j <= pos; j++) {
                    p[j] = (float) Math.exp(p[j] - max);
                    sum += p[j];
                }
                for (int d = 0; d < headDim; d++) {
                    float acc = 0;
                    for (int j = first; j <= pos; j++) {
                        acc += p[j] * vCache.getAtIndex(F32, (long) j * kvDim + (long) kvh * headDim + d);
                    }
                    out.setAtIndex(F32, o + d, acc / sum);
                }
            }
        }
    }

    static void siluMul(MemorySegment gate, MemorySegment up, long n, MemorySegment out) {
        for (long i = 0; i < n; i++) {
            float g = gate.getAtIndex(F32, i);
            out.setAtIndex(F32, i, g / (1f + (float) Math.exp(-g)) * up.getAtIndex(F32, i));
        }
    }

    static float gelu(float x) {
        return (float) (0.5 * x * (1 + Math.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))));
    }

    static void geluMul(MemorySegment gate, MemorySegment up, long n, MemorySegment out) {
        for (long i = 0; i < n; i++) {
            out.setAtIndex(F32, i, gelu(gate.getAtIndex(F32, i)) * up.getAtIndex(F32, i));
        }
    }

    static void map(MemorySegment in, long n, MemorySegment out, java.util.function.DoubleUnaryOperator f) {
        for (long i = 0; i < n; i++) {
            out.setAtIndex(F32, i, (float) f.applyAsDouble(in.getAtIndex(F32, i)));
        }
    }

    static void layerNorm(MemorySegment in, MemorySegment weight, MemorySegment bias, float eps, int rows, int n,
                          MemorySegment out) {
        for (int t = 0; t < rows; t++) {
            float mean = 0;
            for (int i = 0; i < n; i++) {
                mean += in.getAtIndex(F32, (long) t * n + i);
            }
            mean /= n;
            float variance = 0;
            for (int i = 0; i < n; i++) {
                float d = in.getAtIndex(F32, (long) t * n + i) - mean;
                variance += d * d;
            }
            float inverse = (float) (1.0 / Math.sqrt(variance / n + eps));
            for (int i = 0; i < n; i++) {
                long at = (long) t * n + i;
                float b = bias == null ? 0f : bias.getAtIndex(F32, i);
                out.setAtIndex(F32, at, (in.getAtIndex(F32, at) - mean) * inverse * weight.getAtIndex(F32, i) + b);
            }
        }
    }

    static void addBias(MemorySegment in, MemorySegment bias, int rows, int n, MemorySegment out) {
        for (int t = 0; t < rows; t++) {
            for (int i = 0; i < n; i++) {
                long at = (long) t * n + i;
                out.setAtIndex(F32, at, in.getAtIndex(F32, at) + bias.getAtIndex(F32, i));
            }
        }
    }

    static void add(MemorySegment a, MemorySegment b, long n, MemorySegment out) {
        for (long i = 0; i < n; i++) {
            out.setAtIndex(F32, i, a.getAtIndex(F32, i) + b.getAtIndex(F32, i));
        }
    }

    static void selectRow(MemorySegment in, int row, int n, MemorySegment out) {
        MemorySegment.copy(in, (long) row * n * Float.BYTES, out, 0, (long) n * Float.BYTES);
    }

    /**
     * INT8 codes of {@code in} (rint of the F32 quotient, or truncated with the defect), exact INT32
     * accumulation, then dequantization or INT16 requantization (ties away from zero, saturating).
     */
    static void quantizedLinear(MemorySegment in, Int8Weights weights, int rows, float inputScale, float outputScale,
                                MemorySegment out, boolean truncate) {
        int inF = weights.cols();
        int outF = weights.rows();
        int[] codes = new int[inF];
        for (int t = 0; t < rows; t++) {
            for (int i = 0; i < inF; i++) {
                float quotient = in.getAtIndex(F32, (long) t * inF + i) / inputScale;
                float rounded = truncate ? (float) (int) quotient : (float) Math.rint(quotient);
                codes[i] = (int) Math.max(-127, Math.min(127, rounded));
            }
            for (int o = 0; o < outF; o++) {
                int acc = 0;
                for (int i = 0; i < inF; i++) {
                    acc += codes[i] * weights.data().get(ValueLayout.JAVA_BYTE, (long) o * inF + i);
                }
                double real = acc * ((double) inputScale * weights.scale(o));
                float value;
                if (outputScale == 0) {
                    value = (float) real;
                } else {
                    double q = real / outputScale;
                    double q16 = Math.signum(q) * Math.floor(Math.abs(q) + 0.5);
                    value = (float) (Math.max(-32767, Math.min(32767, q16)) * outputScale);
                }
                out.setAtIndex(F32, (long) t * outF + o, value);
            }
        }
    }

    /** out[t] = W (in[t] - clamp(in[t], -threshold, threshold)) over decoded F32 weights. */
    static void outlierShadow(MemorySegment in, MemorySegment weight, int rows, int inF, int outF, float threshold,
                              MemorySegment out) {
        for (int t = 0; t < rows; t++) {
            for (int o = 0; o < outF; o++) {
                float sum = 0;
                for (int i = 0; i < inF; i++) {
                    float x = in.getAtIndex(F32, (long) t * inF + i);
                    if (Math.abs(x) > threshold) {
                        sum += weight.getAtIndex(F32, (long) o * inF + i) * (x - Math.max(-threshold, Math.min(threshold, x)));
                    }
                }
                out.setAtIndex(F32, (long) t * outF + o, sum);
            }
        }
    }

    /** out = npu + shadow, or W[o] x[t] where |npu| reached {@code limit}. */
    static void shadowMerge(MemorySegment npu, MemorySegment shadow, MemorySegment x, MemorySegment weight, int rows,
                            int inF, int outF, float limit, MemorySegment out) {
        for (int t = 0; t < rows; t++) {
            for (int o = 0; o < outF; o++) {
                long i = (long) t * outF + o;
                float a = npu.getAtIndex(F32, i);
                float value = a + shadow.getAtIndex(F32, i);
                if (Math.abs(a) >= limit) {
                    value = 0;
                    for (int c = 0; c < inF; c++) {
                        value += weight.getAtIndex(F32, (long) o * inF + c) * x.getAtIndex(F32, (long) t * inF + c);
                    }
                }
                out.setAtIndex(F32, i, value);
            }
        }
    }
}
