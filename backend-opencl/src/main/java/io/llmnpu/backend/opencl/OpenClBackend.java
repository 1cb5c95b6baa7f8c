package io.llmnpu.backend.opencl;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.Device;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every OpenCL device of every installed platform, each with its own context and in-order command
 * queue. Devices are named {@code opencl0, opencl1, ...} in discovery order; a device whose context
 * cannot be created is left out with a warning rather than taking the others down.
 */
public final class OpenClBackend implements Backend {
    private static final Logger LOG = LoggerFactory.getLogger(OpenClBackend.class);

    private final List<OpenClDevice> devices;

    /** Opens every installed device with the given settings. */
    public OpenClBackend(OpenClOptions options) {
        this(OpenClDiscovery.installed(), options);
    }

    OpenClBackend(List<ClDeviceHandle> handles, OpenClOptions options) {
        List<OpenClDevice> opened = new ArrayList<>();
        List<String> failures = new ArrayList<>();
        for (ClDeviceHandle handle : handles) {
            try {
                OpenClDevice device = new OpenClDevice("opencl" + opened.size(), handle, options);
                LOG.info("OpenCL device {}: {}", device.name(), handle.info());
                opened.add(device);
            } catch (RuntimeException e) {
                LOG.warn("skipping OpenCL device {}: {}", handle.info(), e.getMessage());
                failures.add(handle.info().deviceName() + ": " + e.getMessage());
            }
        }
        if (opened.isEmpty() && !failures.isEmpty()) {
            throw new BackendException("no OpenCL device could be opened: " + String.join("; ", failures));
        }
        this.devices = List.copyOf(opened);
    }

    @Override
    public String name() {
        return "opencl";
    }

    @Override
    public List<Device> devices() {
        return List.copyOf(devices);
    }

    /** The devices with their OpenCL-specific extras (resident state control, outlier kernel). */
    public List<OpenClDevice> openClDevices() {
        return devices;
    }

    @Override
    public void close() {
        devices.forEach(OpenClDevice::close);
    }
}
