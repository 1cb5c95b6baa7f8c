package io.llmnpu.backend.npu.reference;

import io.llmnpu.api.backend.BackendOptions;
import java.nio.file.Path;

/**
 * How a reference NPU is set up.
 *
 * @param cores    compute threads of the simulated NPU (the caller included)
 * @param cacheDir folder of the compile cache; null for none
 */
public record NpuSettings(int cores, Path cacheDir) {

    /** System property naming the compile cache folder; {@code none} turns the cache off. */
    public static final String CACHE_PROPERTY = "llmnpu.npu.cache";
    /** Environment variable with the same meaning, read when the property is not set. */
    public static final String CACHE_ENV = "LLMNPU_NPU_CACHE";

    public NpuSettings {
        if (cores < 1) {
            throw new IllegalArgumentException("cores must be >= 1, got " + cores);
        }
    }

    /**
     * Settings for {@code options}: one core unless a thread count is given (an NPU is one device
     * beside the CPU, which keeps its cores), and the cache folder from {@value #CACHE_PROPERTY},
     * {@value #CACHE_ENV}, or else {@code ~/.cache/llmnpu/npu-ref}.
     */
    public static NpuSettings from(BackendOptions options) {
        int cores = options.threads() > 0 ? options.threads() : 1;
        return new NpuSettings(cores, cacheDirectory(System.getProperty(CACHE_PROPERTY), System.getenv(CACHE_ENV),
                System.getProperty("user.home")));
    }

    static Path cacheDirectory(String property, String env, String home) {
        String chosen = property != null && !property.isBlank() ? property
                : env != null && !env.isBlank() ? env : null;
        if (chosen != null) {
            return chosen.equalsIgnoreCase("none") ? null : Path.of(chosen);
        }
        return home == null ? null : Path.of(home, ".cache", "llmnpu", "npu-ref");
    }
}
