package io.llmnpu.backend.vulkan;

import static org.lwjgl.system.MemoryStack.stackPush;
import static org.lwjgl.vulkan.VK10.*;
import static org.lwjgl.vulkan.VK11.*;

import io.llmnpu.api.backend.BackendException;
import java.nio.IntBuffer;
import java.util.ArrayList;
import java.util.List;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.vulkan.VK;
import org.lwjgl.vulkan.VK12;
import org.lwjgl.vulkan.VkApplicationInfo;
import org.lwjgl.vulkan.VkInstance;
import org.lwjgl.vulkan.VkInstanceCreateInfo;
import org.lwjgl.vulkan.VkPhysicalDevice;
import org.lwjgl.vulkan.VkPhysicalDeviceDriverProperties;
import org.lwjgl.vulkan.VkPhysicalDeviceIDProperties;
import org.lwjgl.vulkan.VkPhysicalDeviceLimits;
import org.lwjgl.vulkan.VkPhysicalDeviceMaintenance3Properties;
import org.lwjgl.vulkan.VkPhysicalDeviceMemoryProperties;
import org.lwjgl.vulkan.VkPhysicalDeviceProperties;
import org.lwjgl.vulkan.VkPhysicalDeviceProperties2;
import org.lwjgl.vulkan.VkPhysicalDeviceSubgroupProperties;
import org.lwjgl.vulkan.VkQueueFamilyProperties;

/**
 * A Vulkan instance and the physical devices it sees that can run compute work (Vulkan 1.1 or newer,
 * a queue with compute). Closing it destroys the instance; devices opened from it must be closed first.
 */
final class VulkanInstance implements AutoCloseable {
    /** Vulkan 1.1 brings subgroups and the properties queries the backend relies on. */
    static final int MIN_API = VK_API_VERSION_1_1;

    /** A physical device of this instance with what it reports. */
    record PhysicalDevice(VkPhysicalDevice handle, DeviceInfo info) {
    }

    private final VkInstance instance;
    private final List<PhysicalDevice> devices;
    private final List<String> skipped;
    private boolean closed;

    private VulkanInstance(VkInstance instance, List<PhysicalDevice> devices, List<String> skipped) {
        this.instance = instance;
        this.devices = List.copyOf(devices);
        this.skipped = List.copyOf(skipped);
    }

    /**
     * Creates an instance through the installed Vulkan loader.
     *
     * @throws LinkageError     if LWJGL or the Vulkan loader cannot be loaded
     * @throws BackendException if the loader finds no driver or the instance cannot be created
     */
    static VulkanInstance create() {
        NativeLibraries.load(() -> {
            VK.getFunctionProvider(); // loads libvulkan (LWJGL's VK class does so when it initialises)
            return null;
        });
        try (MemoryStack stack = stackPush()) {
            int loaderVersion = VK.getInstanceVersionSupported();
            if (loaderVersion < MIN_API) {
                throw new BackendException("the Vulkan loader supports only Vulkan " + VK_API_VERSION_MAJOR(loaderVersion)
                        + "." + VK_API_VERSION_MINOR(loaderVersion) + "; the backend needs 1.1 or newer");
            }
            VkApplicationInfo app = VkApplicationInfo.calloc(stack).sType$Default()
                    .pApplicationName(stack.UTF8("llmnpu")).pEngineName(stack.UTF8("llmnpu"))
                    .apiVersion(Math.min(loaderVersion, VK12.VK_API_VERSION_1_2 | 0xFFF) & ~0xFFF);
            VkInstanceCreateInfo create = VkInstanceCreateInfo.calloc(stack).sType$Default().pApplicationInfo(app);
            PointerBuffer handle = stack.mallocPointer(1);
            int result = vkCreateInstance(create, null, handle);
            if (result == VK_ERROR_INCOMPATIBLE_DRIVER) {
                throw new BackendException("the Vulkan loader found no driver; install one, e.g. the Debian package"
                        + " mesa-vulkan-drivers (lavapipe, a CPU implementation) or the GPU vendor's driver");
            }
            Vk.check(result, "vkCreateInstance");
            VkInstance instance = new VkInstance(handle.get(0), create);
            try {
                List<PhysicalDevice> found = new ArrayList<>();
                List<String> skipped = new ArrayList<>();
                enumerate(instance, found, skipped);
                return new VulkanInstance(instance, found, skipped);
            } catch (RuntimeException e) {
                vkDestroyInstance(instance, null);
                throw e;
            }
        }
    }

    private static void enumerate(VkInstance instance, List<PhysicalDevice> found, List<String> skipped) {
        try (MemoryStack stack = stackPush()) {
            IntBuffer count = stack.mallocInt(1);
            Vk.check(vkEnumeratePhysicalDevices(instance, count, null), "vkEnumeratePhysicalDevices");
            PointerBuffer handles = stack.mallocPointer(count.get(0));
            Vk.check(vkEnumeratePhysicalDevices(instance, count, handles), "vkEnumeratePhysicalDevices");
            for (int i = 0; i < count.get(0); i++) {
                VkPhysicalDevice device = new VkPhysicalDevice(handles.get(i), instance);
                VkPhysicalDeviceProperties props = VkPhysicalDeviceProperties.calloc(stack);
                vkGetPhysicalDeviceProperties(device, props);
                String name = props.deviceNameString();
                if (props.apiVersion() < MIN_API) {
                    skipped.add(name + ": supports only Vulkan " + VK_API_VERSION_MAJOR(props.apiVersion()) + "."
                            + VK_API_VERSION_MINOR(props.apiVersion()) + ", 1.1 is needed");
                    continue;
                }
                int family = computeQueueFamily(device, stack);
                if (family < 0) {
                    skipped.add(name + ": no queue family runs compute work");
                    continue;
                }
                found.add(new PhysicalDevice(device, read(device, props, family, stack)));
            }
        }
    }

    /** A queue family with compute, preferring one without graphics (a dedicated compute queue). */
    private static int computeQueueFamily(VkPhysicalDevice device, MemoryStack stack) {
        IntBuffer count = stack.mallocInt(1);
        vkGetPhysicalDeviceQueueFamilyProperties(device, count, null);
        VkQueueFamilyProperties.Buffer families = VkQueueFamilyProperties.malloc(count.get(0), stack);
        vkGetPhysicalDeviceQueueFamilyProperties(device, count, families);
        int best = -1;
        for (int i = 0; i < families.capacity(); i++) {
            int flags = families.get(i).queueFlags();
            if ((flags & VK_QUEUE_COMPUTE_BIT) != 0 && families.get(i).queueCount() > 0) {
                if (best < 0 || (flags & VK_QUEUE_GRAPHICS_BIT) == 0) {
                    best = i;
                }
            }
        }
        return best;
    }

    private static DeviceInfo read(VkPhysicalDevice device, VkPhysicalDeviceProperties props, int family, MemoryStack stack) {
        VkPhysicalDeviceSubgroupProperties subgroup = VkPhysicalDeviceSubgroupProperties.calloc(stack).sType$Default();
        VkPhysicalDeviceMaintenance3Properties maintenance = VkPhysicalDeviceMaintenance3Properties.calloc(stack).sType$Default();
        VkPhysicalDeviceIDProperties ids = VkPhysicalDeviceIDProperties.calloc(stack).sType$Default();
        VkPhysicalDeviceDriverProperties driver = VkPhysicalDeviceDriverProperties.calloc(stack).sType$Default();
        VkPhysicalDeviceProperties2 props2 = VkPhysicalDeviceProperties2.calloc(stack).sType$Default()
                .pNext(subgroup).pNext(maintenance).pNext(ids);
        boolean hasDriverProperties = props.apiVersion() >= VK12.VK_API_VERSION_1_2;
        if (hasDriverProperties) {
            props2.pNext(driver);
        }
        vkGetPhysicalDeviceProperties2(device, props2);

        VkPhysicalDeviceMemoryProperties memory = VkPhysicalDeviceMemoryProperties.calloc(stack);
        vkGetPhysicalDeviceMemoryProperties(device, memory);
        long localHeap = 0;
        for (int i = 0; i < memory.memoryHeapCount(); i++) {
            if ((memory.memoryHeaps(i).flags() & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0) {
                localHeap = Math.max(localHeap, memory.memoryHeaps(i).size());
            }
        }
        VkPhysicalDeviceLimits limits = props.limits();
        boolean arithmetic = (subgroup.supportedStages() & VK_SHADER_STAGE_COMPUTE_BIT) != 0
                && (subgroup.supportedOperations() & (VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT))
                == (VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT)
                && subgroup.subgroupSize() > 0;
        String driverText = hasDriverProperties
                ? (driver.driverNameString() + " " + driver.driverInfoString()).strip()
                : "driver " + Integer.toUnsignedString(props.driverVersion());
        byte[] uuid = new byte[VK_UUID_SIZE];
        ids.deviceUUID().get(uuid);
        byte[] cacheUuid = new byte[VK_UUID_SIZE];
        props.pipelineCacheUUID().get(cacheUuid);
        long maxAlloc = maintenance.maxMemoryAllocationSize() > 0 ? maintenance.maxMemoryAllocationSize() : 1L << 30;
        return new DeviceInfo(props.deviceNameString(), props.deviceType(), props.vendorID(), props.deviceID(),
                props.apiVersion(), driverText, DeviceInfo.hex(uuid), DeviceInfo.hex(cacheUuid), localHeap,
                Integer.toUnsignedLong(limits.maxStorageBufferRange()), maxAlloc, limits.maxComputeSharedMemorySize(),
                limits.maxComputeWorkGroupInvocations(),
                new int[] {limits.maxComputeWorkGroupCount(0), limits.maxComputeWorkGroupCount(1), limits.maxComputeWorkGroupCount(2)},
                subgroup.subgroupSize(), arithmetic, family);
    }

    VkInstance handle() {
        return instance;
    }

    /** The devices that can run the backend, in the driver's order. */
    List<PhysicalDevice> devices() {
        return devices;
    }

    /** Devices left out, with the reason each. */
    List<String> skipped() {
        return skipped;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            vkDestroyInstance(instance, null);
        }
    }
}
