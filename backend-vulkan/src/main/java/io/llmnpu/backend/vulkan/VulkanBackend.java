package io.llmnpu.backend.vulkan;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.Device;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every Vulkan device of the installed drivers that can run compute work, named {@code vulkan0,
 * vulkan1, ...} in the driver's order, each with its own logical device and queue. A device that cannot
 * be opened is left out with a warning rather than taking the others down. Each device's cost rates
 * are measured on first use and cached per machine (see {@link CostCalibration}).
 */
public final class VulkanBackend implements Backend {
    private static final Logger LOG = LoggerFactory.getLogger(VulkanBackend.class);

    private final VulkanInstance instance;
    private final List<VulkanDevice> devices;

    /** Opens every usable device with the given settings. */
    public VulkanBackend(VulkanOptions options) {
        this(VulkanInstance.create(), options);
    }

    VulkanBackend(VulkanInstance instance, VulkanOptions options) {
        this.instance = instance;
        List<VulkanDevice> opened = new ArrayList<>();
        List<String> failures = new ArrayList<>(instance.skipped());
        try {
            for (VulkanInstance.PhysicalDevice physical : instance.devices()) {
                VulkanDevice device = null;
                try {
                    device = new VulkanDevice("vulkan" + opened.size(), physical, options);
                    calibrate(device);
                    opened.add(device);
                    LOG.info("Vulkan device {}: {}", device.name(), physical.info());
                } catch (RuntimeException e) {
                    LOG.warn("skipping Vulkan device {}: {}", physical.info().name(), e.getMessage());
                    failures.add(physical.info().name() + ": " + e.getMessage());
                    if (device != null) {
                        device.close();
                    }
                }
            }
        } catch (RuntimeException | Error e) {
            opened.forEach(VulkanDevice::close);
            instance.close();
            throw e;
        }
        if (opened.isEmpty()) {
            instance.close();
            throw new BackendException("no Vulkan device could be opened"
                    + (failures.isEmpty() ? "" : ": " + String.join("; ", failures)));
        }
        this.devices = List.copyOf(opened);
    }

    private static void calibrate(VulkanDevice device) {
        CostCalibration calibration = new CostCalibration(CostCalibration.configuredCacheDir(),
                CostCalibration.deviceKey(device.info()), () -> KernelRateProbe.measure(device));
        device.useCostRates(calibration.rates(device.costRates()));
    }

    @Override
    public String name() {
        return "vulkan";
    }

    @Override
    public List<Device> devices() {
        return List.copyOf(devices);
    }

    /** The devices with their Vulkan-specific extras (driver info, resident state control). */
    public List<VulkanDevice> vulkanDevices() {
        return devices;
    }

    @Override
    public void close() {
        try {
            devices.forEach(VulkanDevice::close);
        } finally {
            instance.close();
        }
    }
}
