package io.llmnpu.api.graph;

import io.llmnpu.api.tensor.Int8Weights;
import io.llmnpu.api.tensor.Tensor;
import java.util.Arrays;
import java.util.List;

/**
 * The operator vocabulary a backend may implement. Activations flow through {@link Value}s; weights
 * are constant {@link Tensor}s the op holds (a backend may pack them at compile time).
 *
 * <p>Row conventions: an activation of shape [T, n] holds T token rows of n values each. A row whose
 * entry in a {@code positions} input is negative is padding: ops that touch shared state (the KV
 * cache) ignore it, so padded rows change nothing.
 */
public sealed interface Op {

    List<Value> inputs();

    List<Value> outputs();

    /** Looks up rows of {@code table} by token id: out[t] = table[tokens[t]]. */
    record Embedding(Value tokens, Tensor table, Value out) implements Op {
        public List<Value> inputs() { return List.of(tokens); }
        public List<Value> outputs() { return List.of(out); }
    }

    /** out[t] = in[t] / sqrt(mean(in[t]^2) + eps) * weight. */
    record RmsNorm(Value in, Tensor weight, float eps, Value out) implements Op {
        public List<Value> inputs() { return List.of(in); }
        public List<Value> outputs() { return List.of(out); }
    }

    /** out[t] = weight · in[t]: weight is [outFeatures, inFeatures], any weight dtype. */
    record Linear(Value in, Tensor weight, Value out) implements Op {
        public List<Value> inputs() { return List.of(in); }
        public List<Value> outputs() { return List.of(out); }
    }

    /**
     * Rotary position embedding of every head of every row, at that row's position. The first
     * {@code rotaryDims} dimensions of each head rotate; the rest pass through. Pair i (i <
     * rotaryDims / 2) turns by {@code position * theta^(-2i / rotaryDims) / freqFactors[i]}; without
     * {@code freqFactors} (null) every factor is 1. Per-pair factors are how Llama 3.1 and long-context
     * Phi-3 stretch the low frequencies ({@code rope_freqs.weight}, F32 [rotaryDims / 2]).
     */
    record Rope(Value in, Value positions, int headDim, int rotaryDims, float theta, RopeStyle style,
                Tensor freqFactors, Value out) implements Op {
        /** Plain RoPE: every frequency factor 1. */
        public Rope(Value in, Value positions, int headDim, int rotaryDims, float theta, RopeStyle style, Value out) {
            this(in, positions, headDim, rotaryDims, theta, style, null, out);
        }

        public List<Value> inputs() { return List.of(in, positions); }
        public List<Value> outputs() { return List.of(out); }
    }

    /**
     * Causal multi-head attention with grouped KV heads over a KV cache. First the k and v rows of
     * every non-padding row t are written into the caches at row positions[t]; then row t attends to
     * cache rows {@code max(0, positions[t] - window + 1)..positions[t]} (all of 0..positions[t] when
     * {@code window} is 0). Query head h reads KV head h / (heads / kvHeads). A score is
     * {@code s = scale * q·k}, then, if {@code softCap} is positive, {@code softCap * tanh(s / softCap)}
     * (Gemma 2's attention logit soft-capping), before the softmax. The caches are
     * [contextLength, kvHeads * headDim] and are inputs the op updates in place.
     */
    record Attention(Value q, Value k, Value v, Value positions, Value kCache, Value vCache,
                     int heads, int kvHeads, int headDim, float scale, float softCap, int window, Value out)
            implements Op {
        public Attention {
            if (!(scale > 0) || !Float.isFinite(scale)) {
                throw new IllegalArgumentException("attention scale must be positive and finite, got " + scale);
            }
            if (!(softCap >= 0) || !Float.isFinite(softCap)) {
                throw new IllegalArgumentException("soft cap must be 0 (none) or positive and finite, got " + softCap);
            }
            if (window < 0) {
                throw new IllegalArgumentException("sliding window must be 0 (none) or positive, got " + window);
            }
        }

        /** Plain causal attention with scores scaled by 1/sqrt(headDim), no cap, no window. */
        public Attention(Value q, Value k, Value v, Value positions, Value kCache, Value vCache,
                         int heads, int kvHeads, int headDim, Value out) {
            this(q, k, v, positions, kCache, vCache, heads, kvHeads, headDim, defaultScale(headDim), 0f, 0, out);
        }

        /** 1/sqrt(headDim), the usual score scale. */
        public static float defaultScale(int headDim) {
            return (float) (1.0 / Math.sqrt(headDim));
        }

        /** The first cache row that row position {@code pos} attends to. */
        public int firstVisible(int pos) {
            return window == 0 ? 0 : Math.max(0, pos - window + 1);
        }

        public List<Value> inputs() { return List.of(q, k, v, positions, kCache, vCache); }
        public List<Value> outputs() { return List.of(out); }
    }

    /** out = silu(gate) * up, elementwise: the gated FFN activation of Llama. */
    record SiluMul(Value gate, Value up, Value out) implements Op {
        public List<Value> inputs() { return List.of(gate, up); }
        public List<Value> outputs() { return List.of(out); }
    }

    /**
     * out = gelu(gate) * up, elementwise, with GELU in its tanh form (see {@link Gelu}): the GeGLU
     * feed-forward activation of Gemma.
     */
    record GeluMul(Value gate, Value up, Value out) implements Op {
        public List<Value> inputs() { return List.of(gate, up); }
        public List<Value> outputs() { return List.of(out); }
    }

    /**
     * out = gelu(in), elementwise, in the tanh form GPT-2, Phi-2 and llama.cpp use:
     * {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))}.
     */
    record Gelu(Value in, Value out) implements Op {
        public List<Value> inputs() { return List.of(in); }
        public List<Value> outputs() { return List.of(out); }
    }

    /**
     * out[t] = (in[t] - mean(in[t])) / sqrt(var(in[t]) + eps) * weight + bias, the variance taken over
     * the row (divided by its width); {@code bias} may be null. The normalisation of Phi-2, GPT-2 and
     * most non-Llama transformers.
     */
    record LayerNorm(Value in, Tensor weight, Tensor bias, float eps, Value out) implements Op {
        public List<Value> inputs() { return List.of(in); }
        public List<Value> outputs() { return List.of(out); }
    }

    /** out[t] = in[t] + bias: a constant vector added to every row (the bias of a biased linear layer). */
    record AddBias(Value in, Tensor bias, Value out) implements Op {
        public List<Value> inputs() { return List.of(in); }
        public List<Value> outputs() { return List.of(out); }
    }

    /** out = in * factor, elementwise (Gemma's embedding scale sqrt(dim)). */
    record Scale(Value in, float factor, Value out) implements Op {
        public Scale {
            if (!Float.isFinite(factor)) {
                throw new IllegalArgumentException("scale factor must be finite, got " + factor);
            }
        }

        public List<Value> inputs() { return List.of(in); }
        public List<Value> outputs() { return List.of(out); }
    }

    /** out = cap * tanh(in / cap), elementwise: soft-capping that bounds values to (-cap, cap) (Gemma 2 logits). */
    record SoftCap(Value in, float cap, Value out) implements Op {
        public SoftCap {
            if (!(cap > 0) || !Float.isFinite(cap)) {
                throw new IllegalArgumentException("soft cap must be positive and finite, got " + cap);
            }
        }

        public List<Value> inputs() { return List.of(in); }
        public List<Value> outputs() { return List.of(out); }
    }

    /** out = a + b, elementwise (residual connections). */
    record Add(Value a, Value b, Value out) implements Op {
        public List<Value> inputs() { return List.of(a, b); }
        public List<Value> outputs() { return List.of(out); }
    }

    /** Keeps only row {@code row} of {@code in}: the last position before the LM head. */
    record SelectRow(Value in, int row, Value out) implements Op {
        public List<Value> inputs() { return List.of(in); }
        public List<Value> outputs() { return List.of(out); }
    }

    /**
     * A linear layer in integer arithmetic, the matrix work of an NPU. Per row t of {@code in} [T, k]:
     * <ol>
     *   <li>quantize per tensor with the static {@code inputScale}: {@code q[c] = clamp(rint(in[t][c] /
     *       inputScale), -127, 127)}; values beyond the range saturate (see {@link OutlierShadow});</li>
     *   <li>accumulate {@code acc[r] = sum_c q[c] * weights[r][c]} in INT32 (exact);</li>
     *   <li>if {@code outputScale} is 0, dequantize: {@code out[t][r] = acc[r] * (inputScale *
     *       weights.scale(r))};</li>
     *   <li>otherwise requantize to INT16 first, as an NPU hands activations on: {@code q16 =
     *       clamp(round(acc[r] * inputScale * weights.scale(r) / outputScale), -32767, 32767)}, then
     *       {@code out[t][r] = q16 * outputScale}. An output at +-32767 saturated (see
     *       {@link ShadowMerge}).</li>
     * </ol>
     * {@code in} and {@code out} are F32; the conversions happen at the edges of the device.
     */
    record QuantizedLinear(Value in, Int8Weights weights, float inputScale, float outputScale, Value out)
            implements Op {
        /** Largest INT16 code a requantized output takes; the limit of saturation. */
        public static final int OUTPUT_LIMIT = 32767;

        public QuantizedLinear {
            if (!(inputScale > 0) || !Float.isFinite(inputScale)) {
                throw new IllegalArgumentException("input scale must be positive and finite, got " + inputScale);
            }
            if (!(outputScale >= 0) || !Float.isFinite(outputScale)) {
                throw new IllegalArgumentException("output scale must be 0 (no requantization) or positive, got "
                        + outputScale);
            }
        }

        /** Without requantization: INT32 accumulators are dequantized straight to F32. */
        public QuantizedLinear(Value in, Int8Weights weights, float inputScale, Value out) {
            this(in, weights, inputScale, 0f, out);
        }

        /** The magnitude at which a requantized output is saturated; infinite without requantization. */
        public float saturationLimit() {
            return outputScale == 0 ? Float.POSITIVE_INFINITY : OUTPUT_LIMIT * outputScale;
        }

        public List<Value> inputs() { return List.of(in); }
        public List<Value> outputs() { return List.of(out); }
    }

    /**
     * The sparse float part of shadow outlier execution: what a per-tensor INT8 input with clip range
     * {@code clipThreshold} loses. {@code out[t] = weight · (in[t] - clamp(in[t], -clipThreshold,
     * clipThreshold))}, where only channels c with {@code |in[t][c]| > clipThreshold} contribute.
     * {@code weight} is the layer's float weight matrix [outFeatures, inFeatures] of any dtype;
     * {@code hotChannels} are the input channels expected to carry most outliers, whose weight columns
     * a device may keep in a compact buffer (other channels are read from {@code weight} when they occur).
     */
    record OutlierShadow(Value in, float clipThreshold, Tensor weight, int[] hotChannels, Value out) implements Op {
        public OutlierShadow {
            if (!(clipThreshold > 0) || !Float.isFinite(clipThreshold)) {
                throw new IllegalArgumentException("clip threshold must be positive and finite, got " + clipThreshold);
            }
            hotChannels = hotChannels.clone();
        }

        /** A copy of the hot channels. */
        @Override
        public int[] hotChannels() {
            return hotChannels.clone();
        }

        public List<Value> inputs() { return List.of(in); }
        public List<Value> outputs() { return List.of(out); }

        @Override
        public boolean equals(Object o) {
            return o instanceof OutlierShadow s && s.in.equals(in) && Float.compare(s.clipThreshold, clipThreshold) == 0
                    && s.weight.equals(weight) && Arrays.equals(s.hotChannels, hotChannels) && s.out.equals(out);
        }

        @Override
        public int hashCode() {
            return 31 * (31 * in.hashCode() + out.hashCode()) + Arrays.hashCode(hotChannels);
        }

        @Override
        public String toString() {
            return "OutlierShadow[in=" + in + ", clipThreshold=" + clipThreshold + ", weight=" + weight
                    + ", hotChannels=" + hotChannels.length + ", out=" + out + "]";
        }
    }

    /**
     * Joins the two halves of a shadowed linear layer: {@code out = npu + shadow}, except that an entry
     * whose NPU value reached {@code saturationLimit} in magnitude (its requantized output saturated,
     * see {@link QuantizedLinear#saturationLimit()}) is recomputed exactly in float as
     * {@code weight[r] · in[t]}. With an infinite limit this is a plain elementwise add.
     */
    record ShadowMerge(Value npu, Value shadow, Value in, Tensor weight, float saturationLimit, Value out)
            implements Op {
        public ShadowMerge {
            if (!(saturationLimit > 0)) {
                throw new IllegalArgumentException("saturation limit must be positive, got " + saturationLimit);
            }
        }

        public List<Value> inputs() { return List.of(npu, shadow, in); }
        public List<Value> outputs() { return List.of(out); }
    }
}
