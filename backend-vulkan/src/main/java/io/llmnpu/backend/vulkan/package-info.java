/**
 * The Vulkan backend: every float op of {@link io.llmnpu.api.graph.Op} as GLSL compute shaders
 * (resources under {@code shaders/}), compiled to SPIR-V with shaderc and run through LWJGL's Vulkan
 * bindings on any Vulkan 1.1 device: phone and desktop GPUs with their drivers, CPUs through Mesa's
 * lavapipe. That includes the float halves of shadow outlier execution (OutlierShadow, ShadowMerge);
 * the INT8 QuantizedLinear is NPU work and reported unsupported.
 *
 * <p>Shape of the implementation: {@link io.llmnpu.backend.vulkan.VulkanBackendProvider} asks the
 * loader for devices; each {@link io.llmnpu.backend.vulkan.VulkanDevice} owns a logical device and a
 * compute queue, its pipelines (one per shader variant, SPIR-V and the driver's pipeline cache kept on
 * disk), a store of uploaded weights shared by its graphs, and a store of device-resident KV caches.
 * {@code compile} plans every buffer once (intermediates by liveness), writes descriptor sets and
 * places barriers; {@code execute} writes the inputs, runs the graph as one recorded command buffer,
 * reads the outputs, and copies the cache rows it wrote back to the host tensors, so host tensors are
 * current whenever {@code execute} returns.
 */
package io.llmnpu.backend.vulkan;
