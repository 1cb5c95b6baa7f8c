/**
 * The CPU backend: every op of the llmnpu vocabulary as Vector API kernels ({@code jdk.incubator.vector},
 * the widest preferred float species), parallelised over output rows, heads or token rows on the
 * backend's own worker threads.
 *
 * <p>Weights are read in place from their (usually memory-mapped) tensors. Quantized weights (Q8_0,
 * Q4_0) are never dequantized as a whole. For a few token rows (decode, bound by memory bandwidth)
 * each block is widened to float lanes inside the dot product and FMA'd against F32 activations (see
 * {@link io.llmnpu.backend.cpu.Q8Matmul} for why this beats integer arithmetic through the Vector API);
 * for prefill rows the {@link io.llmnpu.backend.cpu.TiledGemm} widens a panel of weight rows at a time
 * into a per-thread F32 scratch and runs a register-tiled F32 kernel over it. Attention of many rows
 * goes through {@link io.llmnpu.backend.cpu.BatchedAttention}; intermediates share scratch buffers by
 * liveness ({@link io.llmnpu.backend.support.BufferLivenessPlan}).
 */
package io.llmnpu.backend.cpu;
