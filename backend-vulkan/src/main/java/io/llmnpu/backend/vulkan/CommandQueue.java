package io.llmnpu.backend.vulkan;

import static org.lwjgl.system.MemoryStack.stackPush;
import static org.lwjgl.vulkan.VK10.*;

import io.llmnpu.api.backend.BackendException;
import java.nio.LongBuffer;
import java.util.function.Consumer;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.vulkan.VkCommandBuffer;
import org.lwjgl.vulkan.VkCommandBufferAllocateInfo;
import org.lwjgl.vulkan.VkCommandBufferBeginInfo;
import org.lwjgl.vulkan.VkCommandPoolCreateInfo;
import org.lwjgl.vulkan.VkDevice;
import org.lwjgl.vulkan.VkFenceCreateInfo;
import org.lwjgl.vulkan.VkQueue;
import org.lwjgl.vulkan.VkSubmitInfo;

/**
 * The device's compute queue with a command pool and a fence. Work is submitted one command buffer at
 * a time and waited for: a compiled graph is one submission, and its results are read right after.
 * Not thread-safe: the owning device serialises access.
 */
final class CommandQueue implements AutoCloseable {
    /** How long a submission may run before the device is considered hung. */
    private static final long TIMEOUT_NANOS = 600_000_000_000L;

    private final VkDevice device;
    private final VkQueue queue;
    private final long pool;
    private final long fence;

    CommandQueue(VkDevice device, int family) {
        this.device = device;
        try (MemoryStack stack = stackPush()) {
            PointerBuffer q = stack.mallocPointer(1);
            vkGetDeviceQueue(device, family, 0, q);
            this.queue = new VkQueue(q.get(0), device);
            LongBuffer handle = stack.mallocLong(1);
            Vk.check(vkCreateCommandPool(device, VkCommandPoolCreateInfo.calloc(stack).sType$Default()
                    .flags(VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT).queueFamilyIndex(family), null, handle),
                    "vkCreateCommandPool");
            this.pool = handle.get(0);
            int result = vkCreateFence(device, VkFenceCreateInfo.calloc(stack).sType$Default(), null, handle);
            if (result != VK_SUCCESS) {
                vkDestroyCommandPool(device, pool, null);
                throw Vk.failure(result, "vkCreateFence");
            }
            this.fence = handle.get(0);
        }
    }

    VkCommandBuffer allocate() {
        try (MemoryStack stack = stackPush()) {
            PointerBuffer handle = stack.mallocPointer(1);
            Vk.check(vkAllocateCommandBuffers(device, VkCommandBufferAllocateInfo.calloc(stack).sType$Default()
                    .commandPool(pool).level(VK_COMMAND_BUFFER_LEVEL_PRIMARY).commandBufferCount(1), handle),
                    "vkAllocateCommandBuffers");
            return new VkCommandBuffer(handle.get(0), device);
        }
    }

    void free(VkCommandBuffer commands) {
        if (commands != null) {
            vkFreeCommandBuffers(device, pool, commands);
        }
    }

    /** Resets {@code commands} and records into it with {@code record}. */
    static void record(VkCommandBuffer commands, int flags, Consumer<VkCommandBuffer> record) {
        Vk.check(vkResetCommandBuffer(commands, 0), "vkResetCommandBuffer");
        try (MemoryStack stack = stackPush()) {
            Vk.check(vkBeginCommandBuffer(commands, VkCommandBufferBeginInfo.calloc(stack).sType$Default().flags(flags)),
                    "vkBeginCommandBuffer");
        }
        record.accept(commands);
        Vk.check(vkEndCommandBuffer(commands), "vkEndCommandBuffer");
    }

    /** Submits recorded {@code commands} and waits until the device has run them. */
    void submitAndWait(VkCommandBuffer commands) {
        try (MemoryStack stack = stackPush()) {
            Vk.check(vkResetFences(device, fence), "vkResetFences");
            VkSubmitInfo submit = VkSubmitInfo.calloc(stack).sType$Default().pCommandBuffers(stack.pointers(commands));
            Vk.check(vkQueueSubmit(queue, submit, fence), "vkQueueSubmit");
            int result = vkWaitForFences(device, fence, true, TIMEOUT_NANOS);
            if (result == VK_TIMEOUT) {
                throw new BackendException("Vulkan device did not finish a submission within "
                        + TIMEOUT_NANOS / 1_000_000_000L + " s");
            }
            Vk.check(result, "vkWaitForFences");
        }
    }

    /** Records one-time work into a transient command buffer, runs it and waits. */
    void runOnce(Consumer<VkCommandBuffer> record) {
        VkCommandBuffer commands = allocate();
        try {
            record(commands, VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT, record);
            submitAndWait(commands);
        } finally {
            free(commands);
        }
    }

    /** Waits until the queue is idle (before destroying what it may still use). */
    void waitIdle() {
        vkQueueWaitIdle(queue);
    }

    @Override
    public void close() {
        vkDestroyFence(device, fence, null);
        vkDestroyCommandPool(device, pool, null);
    }
}
