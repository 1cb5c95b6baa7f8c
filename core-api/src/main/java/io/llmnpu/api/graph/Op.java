package io.llmnpu.api.graph;

import io.llmnpu.api.tensor.Tensor;
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
     * {@code rotaryDims} dimensions of each head rotate; the rest pass through.
     */
    record Rope(Value in, Value positions, int headDim, int rotaryDims, float theta, RopeStyle style, Value out)
            implements Op {
        public List<Value> inputs() { return List.of(in, positions); }
        public List<Value> outputs() { return List.of(out); }
    }

    /**
     * Causal multi-head attention with grouped KV heads over a KV cache. First the k and v rows of
     * every non-padding row t are written into the caches at row positions[t]; then row t attends to
     * cache rows 0..positions[t]. Scores are scaled by 1/sqrt(headDim). Query head h reads KV head
     * h / (heads / kvHeads). The caches are [contextLength, kvHeads * headDim] and are inputs the op
     * updates in place.
     */
    record Attention(Value q, Value k, Value v, Value positions, Value kCache, Value vCache,
                     int heads, int kvHeads, int headDim, Value out) implements Op {
        public List<Value> inputs() { return List.of(q, k, v, positions, kCache, vCache); }
        public List<Value> outputs() { return List.of(out); }
    }

    /** out = silu(gate) * up, elementwise: the gated FFN activation of Llama. */
    record SiluMul(Value gate, Value up, Value out) implements Op {
        public List<Value> inputs() { return List.of(gate, up); }
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
}
