package io.llmnpu.runtime.model;

import io.llmnpu.api.tensor.Tensor;

/**
 * The weights of one transformer block. Matrices are [out, in]; norms are F32 vectors.
 *
 * @param attnNorm RMSNorm before attention
 * @param wq       query projection [qDim, dim]
 * @param wk       key projection [kvDim, dim]
 * @param wv       value projection [kvDim, dim]
 * @param wo       attention output projection [dim, qDim]
 * @param ffnNorm  RMSNorm before the feed-forward network
 * @param wGate    gate projection (llama2.c w1) [hiddenDim, dim]
 * @param wDown    down projection (llama2.c w2) [dim, hiddenDim]
 * @param wUp      up projection (llama2.c w3) [hiddenDim, dim]
 */
public record LayerWeights(
        Tensor attnNorm, Tensor wq, Tensor wk, Tensor wv, Tensor wo,
        Tensor ffnNorm, Tensor wGate, Tensor wDown, Tensor wUp) {
}
