package io.llmnpu.backend.vulkan;

import static org.lwjgl.system.MemoryStack.stackPush;
import static org.lwjgl.vulkan.VK10.*;

import io.llmnpu.api.backend.BackendException;
import java.nio.LongBuffer;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.vulkan.VkBufferCreateInfo;
import org.lwjgl.vulkan.VkDevice;
import org.lwjgl.vulkan.VkMemoryAllocateInfo;
import org.lwjgl.vulkan.VkMemoryRequirements;
import org.lwjgl.vulkan.VkPhysicalDeviceMemoryProperties;

/**
 * Allocates buffers in the memory types a device offers. Two kinds:
 * <ul>
 *   <li>{@link Kind#DEVICE}: weights, caches and scratch, in device-local memory. Where that memory is
 *       also host-visible and coherent (integrated GPUs, lavapipe) the buffer is mapped, and the host
 *       reads and writes it directly unless staging is forced;</li>
 *   <li>{@link Kind#HOST}: staging and read-back buffers, in host-visible coherent memory (cached where
 *       possible, since the host reads them), always mapped.</li>
 * </ul>
 * Every buffer may be a storage buffer and the source or target of copies. One allocation per buffer:
 * a model needs a few hundred, far below the limit drivers guarantee (4096).
 */
final class DeviceMemory {

    enum Kind { DEVICE, HOST }

    private static final int USAGE = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT
            | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    private static final int HOST_ACCESS = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;

    private final VkDevice device;
    private final int[] typeFlags;
    private final boolean forceStaging;
    private final long maxAllocationBytes;
    private long liveBytes;
    private int liveBuffers;

    DeviceMemory(VkDevice device, VkPhysicalDeviceMemoryProperties properties, boolean forceStaging, long maxAllocationBytes) {
        this.device = device;
        this.typeFlags = new int[properties.memoryTypeCount()];
        for (int i = 0; i < typeFlags.length; i++) {
            typeFlags[i] = properties.memoryTypes(i).propertyFlags();
        }
        this.forceStaging = forceStaging;
        this.maxAllocationBytes = maxAllocationBytes;
    }

    /**
     * A new buffer of at least {@code bytes} bytes (rounded up to whole words, at least one).
     *
     * @throws BackendException if the device cannot provide it
     */
    GpuBuffer allocate(long bytes, Kind kind, String what) {
        long size = Math.max(4, (bytes + 3) & ~3L);
        if (size > maxAllocationBytes) {
            throw new BackendException("cannot allocate " + size + " bytes for " + what + ": the device's largest"
                    + " allocation is " + maxAllocationBytes + " bytes");
        }
        try (MemoryStack stack = stackPush()) {
            VkBufferCreateInfo info = VkBufferCreateInfo.calloc(stack).sType$Default().size(size).usage(USAGE)
                    .sharingMode(VK_SHARING_MODE_EXCLUSIVE);
            LongBuffer handle = stack.mallocLong(1);
            Vk.check(vkCreateBuffer(device, info, null, handle), "vkCreateBuffer for " + what);
            long buffer = handle.get(0);
            long memory = VK_NULL_HANDLE;
            try {
                VkMemoryRequirements req = VkMemoryRequirements.malloc(stack);
                vkGetBufferMemoryRequirements(device, buffer, req);
                int type = chooseType(req.memoryTypeBits(), kind);
                if (type < 0) {
                    throw new BackendException("no memory type of the device can hold " + what);
                }
                VkMemoryAllocateInfo alloc = VkMemoryAllocateInfo.calloc(stack).sType$Default()
                        .allocationSize(req.size()).memoryTypeIndex(type);
                int result = vkAllocateMemory(device, alloc, null, handle);
                if (result != VK_SUCCESS) {
                    throw new BackendException("cannot allocate " + size + " bytes of device memory for " + what + ": "
                            + Vk.name(result));
                }
                memory = handle.get(0);
                Vk.check(vkBindBufferMemory(device, buffer, memory, 0), "vkBindBufferMemory for " + what);
                long mapped = 0;
                boolean hostAccess = (typeFlags[type] & HOST_ACCESS) == HOST_ACCESS;
                if (hostAccess && (kind == Kind.HOST || !forceStaging)) {
                    PointerBuffer pointer = stack.mallocPointer(1);
                    Vk.check(vkMapMemory(device, memory, 0, VK_WHOLE_SIZE, 0, pointer), "vkMapMemory for " + what);
                    mapped = pointer.get(0);
                } else if (kind == Kind.HOST) {
                    throw new BackendException("no host-visible coherent memory for " + what);
                }
                liveBytes += size;
                liveBuffers++;
                return new GpuBuffer(buffer, memory, size, mapped, what);
            } catch (RuntimeException e) {
                if (memory != VK_NULL_HANDLE) {
                    vkFreeMemory(device, memory, null);
                }
                vkDestroyBuffer(device, buffer, null);
                throw e;
            }
        }
    }

    /** The best memory type for {@code kind} among {@code allowed} (a bit per type), or -1. */
    private int chooseType(int allowed, Kind kind) {
        int best = -1;
        int bestScore = Integer.MIN_VALUE;
        for (int i = 0; i < typeFlags.length; i++) {
            if ((allowed & (1 << i)) == 0) {
                continue;
            }
            int f = typeFlags[i];
            int score;
            if (kind == Kind.HOST) {
                if ((f & HOST_ACCESS) != HOST_ACCESS) {
                    continue;
                }
                score = ((f & VK_MEMORY_PROPERTY_HOST_CACHED_BIT) != 0 ? 2 : 0)
                        + ((f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) == 0 ? 1 : 0);
            } else {
                score = ((f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) != 0 ? 4 : 0)
                        + ((f & HOST_ACCESS) == HOST_ACCESS ? 1 : 0);
            }
            if (score > bestScore) {
                best = i;
                bestScore = score;
            }
        }
        return best;
    }

    void free(GpuBuffer b) {
        if (b == null) {
            return;
        }
        if (b.isMapped()) {
            vkUnmapMemory(device, b.memory());
        }
        vkDestroyBuffer(device, b.buffer(), null);
        vkFreeMemory(device, b.memory(), null);
        liveBuffers--;
        liveBytes -= b.bytes();
    }

    /** Buffers allocated and not yet freed (for leak checks in tests). */
    int liveBuffers() {
        return liveBuffers;
    }

    /** Bytes of the buffers not yet freed. */
    long liveBytes() {
        return liveBytes;
    }
}
