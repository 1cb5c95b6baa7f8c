package io.llmnpu.backend.opencl;

import java.nio.file.Path;
import java.util.Locale;

/**
 * Settings of the OpenCL backend beyond the generic {@link io.llmnpu.api.backend.BackendOptions}.
 *
 * @param binaryCacheDir where compiled program binaries are kept, one folder per device and driver;
 *                       {@code null} compiles from source on every start
 * @param stateResidency how KV caches move between host and device between executions
 */
public record OpenClOptions(Path binaryCacheDir, StateResidency stateResidency) {

    /** System property naming the binary cache folder; {@code none} disables the cache. */
    public static final String CACHE_DIR_PROPERTY = "llmnpu.opencl.cacheDir";
    /** System property choosing the {@link StateResidency}: {@code resident} or {@code upload}. */
    public static final String STATE_RESIDENCY_PROPERTY = "llmnpu.opencl.stateResidency";

    /** How state inputs (KV caches) are kept on the device. After every execute the host copy is current either way. */
    public enum StateResidency {
        /**
         * The device keeps its copy of a cache between executions and uploads it only the first time a
         * host tensor is bound; only the rows an execution writes travel back. The host tensor must not
         * be changed by anyone else while the device holds it (see
         * {@link OpenClDevice#forgetResidentState}), which is how one device decoding a sequence works.
         */
        KEEP_RESIDENT,
        /**
         * Before every execution the cache rows the graph can read are uploaded again, so host changes
         * made elsewhere (another device running other chunks of the same layer) are always seen.
         */
        UPLOAD_EACH_EXECUTE
    }

    public OpenClOptions {
        if (stateResidency == null) {
            throw new IllegalArgumentException("stateResidency must be given");
        }
    }

    /** Defaults, overridable by system properties: cache under {@code ~/.cache/llmnpu/opencl}, caches resident. */
    public static OpenClOptions defaults() {
        String dir = System.getProperty(CACHE_DIR_PROPERTY, "");
        Path cache;
        if (dir.equalsIgnoreCase("none")) {
            cache = null;
        } else if (!dir.isBlank()) {
            cache = Path.of(dir);
        } else {
            cache = Path.of(System.getProperty("user.home"), ".cache", "llmnpu", "opencl");
        }
        String residency = System.getProperty(STATE_RESIDENCY_PROPERTY, "resident").toLowerCase(Locale.ROOT);
        StateResidency mode = switch (residency) {
            case "resident", "keep", "keep_resident" -> StateResidency.KEEP_RESIDENT;
            case "upload", "upload_each_execute" -> StateResidency.UPLOAD_EACH_EXECUTE;
            default -> throw new IllegalArgumentException(STATE_RESIDENCY_PROPERTY + " must be 'resident' or 'upload', got '"
                    + residency + "'");
        };
        return new OpenClOptions(cache, mode);
    }

    public OpenClOptions withBinaryCacheDir(Path dir) {
        return new OpenClOptions(dir, stateResidency);
    }

    public OpenClOptions withStateResidency(StateResidency mode) {
        return new OpenClOptions(binaryCacheDir, mode);
    }
}
