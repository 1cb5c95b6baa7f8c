package io.llmnpu.backend.vulkan;

import java.nio.file.Path;
import java.util.Locale;

/**
 * Settings of the Vulkan backend beyond the generic {@link io.llmnpu.api.backend.BackendOptions}.
 *
 * @param cacheDir       where compiled SPIR-V and the drivers' pipeline caches are kept; {@code null}
 *                       compiles every shader at every start
 * @param subgroups      whether reductions use subgroup operations where the device has them
 * @param staging        whether transfers always go through staging buffers and copy commands, even
 *                       where device memory can be mapped (the path a discrete GPU takes; useful to test
 *                       it on devices whose memory is the host's)
 * @param weightSliceBytes the largest buffer a weight is stored in; larger weights (or ones beyond the
 *                       device's binding limit, whichever is lower) are split into row slices, each bound
 *                       on its own
 */
public record VulkanOptions(Path cacheDir, boolean subgroups, boolean staging, long weightSliceBytes) {

    /** System property naming the cache folder; {@code none} disables it. */
    public static final String CACHE_DIR_PROPERTY = "llmnpu.vulkan.cacheDir";
    /** System property: {@code off} keeps reductions in shared memory even where subgroups exist. */
    public static final String SUBGROUPS_PROPERTY = "llmnpu.vulkan.subgroups";
    /** System property: {@code always} forces staged transfers. */
    public static final String STAGING_PROPERTY = "llmnpu.vulkan.staging";

    public VulkanOptions {
        if (weightSliceBytes < 1024) {
            throw new IllegalArgumentException("weightSliceBytes must be at least 1024, got " + weightSliceBytes);
        }
    }

    /** Defaults, overridable by system properties: cache under {@code ~/.cache/llmnpu/vulkan}, subgroups on, direct transfers. */
    public static VulkanOptions defaults() {
        String dir = System.getProperty(CACHE_DIR_PROPERTY, "").strip();
        Path cache;
        if (dir.equalsIgnoreCase("none")) {
            cache = null;
        } else if (!dir.isEmpty()) {
            cache = Path.of(dir);
        } else {
            cache = Path.of(System.getProperty("user.home"), ".cache", "llmnpu", "vulkan");
        }
        boolean subgroups = switch (System.getProperty(SUBGROUPS_PROPERTY, "auto").strip().toLowerCase(Locale.ROOT)) {
            case "auto", "on", "true" -> true;
            case "off", "false" -> false;
            default -> throw new IllegalArgumentException(SUBGROUPS_PROPERTY + " must be 'auto' or 'off'");
        };
        boolean staging = switch (System.getProperty(STAGING_PROPERTY, "auto").strip().toLowerCase(Locale.ROOT)) {
            case "auto", "off", "false" -> false;
            case "always", "on", "true" -> true;
            default -> throw new IllegalArgumentException(STAGING_PROPERTY + " must be 'auto' or 'always'");
        };
        return new VulkanOptions(cache, subgroups, staging, Long.MAX_VALUE);
    }

    public VulkanOptions withCacheDir(Path dir) {
        return new VulkanOptions(dir, subgroups, staging, weightSliceBytes);
    }

    public VulkanOptions withSubgroups(boolean on) {
        return new VulkanOptions(cacheDir, on, staging, weightSliceBytes);
    }

    public VulkanOptions withStaging(boolean always) {
        return new VulkanOptions(cacheDir, subgroups, always, weightSliceBytes);
    }

    public VulkanOptions withWeightSliceBytes(long bytes) {
        return new VulkanOptions(cacheDir, subgroups, staging, bytes);
    }
}
