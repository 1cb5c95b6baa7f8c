package io.llmnpu.scheduler;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The processors of one machine that prefill can use.
 *
 * @param name        short identifier (e.g. {@code snapdragon-8gen3-like})
 * @param description where the figures come from
 * @param devices     the processors, in the order the simulator offers them work at the same instant
 */
public record PlatformProfile(String name, String description, List<DeviceProfile> devices) {

    public PlatformProfile {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("a platform profile needs a name");
        }
        description = description == null ? "" : description;
        if (devices == null || devices.isEmpty()) {
            throw new IllegalArgumentException("platform " + name + " has no devices");
        }
        devices = List.copyOf(devices);
        Set<String> names = new HashSet<>();
        for (DeviceProfile d : devices) {
            if (!names.add(d.name())) {
                throw new IllegalArgumentException("platform " + name + " names device " + d.name() + " twice");
            }
        }
    }

    public DeviceProfile device(String deviceName) {
        return devices.stream().filter(d -> d.name().equals(deviceName)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("platform " + name + " has no device " + deviceName));
    }
}
