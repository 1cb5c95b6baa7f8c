package io.llmnpu.backend.vulkan;

import static org.lwjgl.vulkan.VK10.*;

import java.util.HexFormat;
import java.util.Locale;

/**
 * What the driver reports about one Vulkan physical device, read once at discovery.
 *
 * @param type                 a {@code VK_PHYSICAL_DEVICE_TYPE_*} value
 * @param apiVersion           the Vulkan version the device supports
 * @param driverDescription    driver name and version text where the driver reports them (Vulkan 1.2), else the raw driver version
 * @param deviceUuid           identifies the device (hex)
 * @param pipelineCacheUuid    identifies the driver's pipeline binaries (hex): cached pipelines never cross it
 * @param localHeapBytes       size of the largest device-local memory heap
 * @param maxStorageBufferRange the largest range one shader binding may see; larger weights are split by rows
 * @param maxAllocationBytes   the largest single memory allocation
 * @param maxSharedMemoryBytes shared memory per work-group
 * @param maxWorkGroupInvocations largest work-group
 * @param maxWorkGroupCount    largest dispatch along x, y and z
 * @param subgroupSize         invocations per subgroup (0 if unknown)
 * @param subgroupArithmetic   whether compute shaders may use subgroup arithmetic (sums, maxima)
 * @param computeQueueFamily   the queue family the backend submits to
 */
public record DeviceInfo(String name, int type, int vendorId, int deviceId, int apiVersion, String driverDescription,
                  String deviceUuid, String pipelineCacheUuid, long localHeapBytes, long maxStorageBufferRange,
                  long maxAllocationBytes, int maxSharedMemoryBytes, int maxWorkGroupInvocations, int[] maxWorkGroupCount,
                  int subgroupSize, boolean subgroupArithmetic, int computeQueueFamily) {

    public DeviceInfo {
        maxWorkGroupCount = maxWorkGroupCount.clone();
    }

    @Override
    public int[] maxWorkGroupCount() {
        return maxWorkGroupCount.clone();
    }

    public boolean isCpu() {
        return type == VK_PHYSICAL_DEVICE_TYPE_CPU;
    }

    public boolean isDiscreteGpu() {
        return type == VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
    }

    public String typeName() {
        return switch (type) {
            case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU -> "integrated GPU";
            case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU -> "discrete GPU";
            case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU -> "virtual GPU";
            case VK_PHYSICAL_DEVICE_TYPE_CPU -> "CPU";
            default -> "other";
        };
    }

    public String apiVersionText() {
        return VK_API_VERSION_MAJOR(apiVersion) + "." + VK_API_VERSION_MINOR(apiVersion) + "." + VK_API_VERSION_PATCH(apiVersion);
    }

    /** What a cached result measured or built on this device is valid for: the device and its driver. */
    String identity() {
        return String.join("\n", name, Integer.toHexString(vendorId), Integer.toHexString(deviceId), deviceUuid,
                pipelineCacheUuid, driverDescription, apiVersionText()).toLowerCase(Locale.ROOT);
    }

    static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(bytes);
    }

    @Override
    public String toString() {
        return name + " (" + typeName() + ", Vulkan " + apiVersionText() + ", " + driverDescription + ", "
                + (localHeapBytes >> 20) + " MiB" + (subgroupArithmetic ? ", subgroups of " + subgroupSize : "") + ")";
    }
}
