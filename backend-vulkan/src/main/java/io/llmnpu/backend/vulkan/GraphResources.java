package io.llmnpu.backend.vulkan;

import static org.lwjgl.vulkan.VK10.vkDestroyDescriptorPool;

import io.llmnpu.api.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import org.lwjgl.vulkan.VkCommandBuffer;

/** Everything a compiled graph holds on the device, released together on close or on a failed compile. */
final class GraphResources {
    private final VulkanDevice device;
    private final List<GpuBuffer> buffers = new ArrayList<>();
    private final List<Tensor> weights = new ArrayList<>();
    private long descriptorPool;
    private VkCommandBuffer commandBuffer;

    GraphResources(VulkanDevice device) {
        this.device = device;
    }

    GpuBuffer buffer(long bytes, DeviceMemory.Kind kind, String what) {
        GpuBuffer b = device.memory().allocate(bytes, kind, what);
        buffers.add(b);
        return b;
    }

    WeightStore.DeviceWeight weight(Tensor weight) {
        WeightStore.DeviceWeight w = device.weights().acquire(weight);
        weights.add(weight);
        return w;
    }

    void descriptorPool(long pool) {
        this.descriptorPool = pool;
    }

    void commandBuffer(VkCommandBuffer commands) {
        this.commandBuffer = commands;
    }

    void release() {
        device.queue().free(commandBuffer);
        commandBuffer = null;
        if (descriptorPool != 0) {
            vkDestroyDescriptorPool(device.handle(), descriptorPool, null);
            descriptorPool = 0;
        }
        buffers.forEach(device.memory()::free);
        buffers.clear();
        weights.forEach(device.weights()::release);
        weights.clear();
    }
}
