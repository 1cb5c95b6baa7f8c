/**
 * The CPU backend: every op of the llmnpu vocabulary as Vector API kernels ({@code jdk.incubator.vector},
 * the widest preferred float species), parallelised over output rows, heads or token rows on the
 * backend's own worker threads.
 *
 * <p>Linear weights whose row count is a multiple of the vector width are copied once, when the first
 * graph using them compiles, into the {@link io.llmnpu.backend.cpu.InterleavedRows} layout (one row per
 * vector lane; the same size, the mapped original's pages released), shared by every graph through the
 * {@link io.llmnpu.backend.cpu.WeightStore}; other weights are read in place. Quantized weights are never
 * dequantized as a whole. For a few token rows (decode, bound by memory bandwidth)
 * {@link io.llmnpu.backend.cpu.InterleavedMatmul} extracts one column of sixteen rows per vector
 * operation and FMAs it against the broadcast F32 activation; for prefill rows the
 * {@link io.llmnpu.backend.cpu.TiledGemm} widens a panel of weight rows at a time into a per-thread F32
 * scratch and runs a register-tiled F32 kernel over it. Attention of many rows
 * goes through {@link io.llmnpu.backend.cpu.BatchedAttention}; intermediates share scratch buffers by
 * liveness ({@link io.llmnpu.backend.support.BufferLivenessPlan}).
 */
package io.llmnpu.backend.cpu;
