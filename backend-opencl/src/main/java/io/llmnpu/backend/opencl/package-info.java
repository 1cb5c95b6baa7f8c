/**
 * The OpenCL backend: every float op of {@link io.llmnpu.api.graph.Op} as OpenCL C kernels (shipped
 * as resources under {@code kernels/}), run through JOCL on any OpenCL 1.2+ device: GPUs with their
 * vendor driver, CPUs through PoCL. That includes the float halves of shadow outlier execution
 * (OutlierShadow, ShadowMerge); the INT8 QuantizedLinear is NPU work and reported unsupported.
 *
 * <p>Shape of the implementation: {@link io.llmnpu.backend.opencl.OpenClBackendProvider} finds the
 * platforms; each {@link io.llmnpu.backend.opencl.OpenClDevice} owns a context, an in-order queue,
 * one program holding all kernels (built once, binary cached on disk), a store of uploaded weights
 * shared by its graphs, and a store of device-resident KV caches. {@code compile} checks shapes,
 * plans scratch buffers with reuse, and binds every kernel argument except the caches;
 * {@code execute} uploads inputs, launches, downloads outputs and writes the changed cache rows back,
 * so host tensors are current whenever {@code execute} returns.
 */
package io.llmnpu.backend.opencl;
