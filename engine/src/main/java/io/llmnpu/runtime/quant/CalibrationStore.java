package io.llmnpu.runtime.quant;

import io.llmnpu.runtime.engine.ModelFingerprint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Optional;
import java.util.Set;

/**
 * Where a model's calibration lives: {@code MODEL.calib.json} beside the model, or, when the model's
 * folder is read-only (a shared model store), a per-user cache keyed by the model's content
 * ({@code ~/.cache/llmnpu/calib/<fingerprint>.calib.json}), so that a calibration follows the model
 * whatever its file is called. The system property {@value #CACHE_PROPERTY} moves the cache folder;
 * {@code none} turns the cache off.
 */
public final class CalibrationStore {
    public static final String CACHE_PROPERTY = "llmnpu.calib.cache";

    private CalibrationStore() {
    }

    /** The calibration to use for {@code model}: the sidecar if there is one, else the cached one, if any. */
    public static Optional<Path> find(Path model) {
        Path sidecar = CalibrationFile.sidecarOf(model);
        if (Files.isRegularFile(sidecar)) {
            return Optional.of(sidecar);
        }
        return cached(model).filter(Files::isRegularFile);
    }

    /** Where {@code calibrate} writes by default: beside the model when its folder is writable, else the cache. */
    public static Path defaultTarget(Path model) {
        Path sidecar = CalibrationFile.sidecarOf(model);
        if (writable(sidecar.toAbsolutePath().getParent())) {
            return sidecar;
        }
        return cached(model).orElse(sidecar);
    }

    /** The cache entry for {@code model}, or empty when the cache is off. */
    public static Optional<Path> cached(Path model) {
        String configured = System.getProperty(CACHE_PROPERTY, "").strip();
        if (configured.equalsIgnoreCase("none")) {
            return Optional.empty();
        }
        Path dir = configured.isEmpty() ? Path.of(System.getProperty("user.home"), ".cache", "llmnpu", "calib")
                : Path.of(configured);
        return Optional.of(dir.resolve(ModelFingerprint.of(model) + CalibrationFile.SUFFIX));
    }

    /**
     * Whether files may be created in {@code dir}: the process may write there and the folder's mode grants
     * someone write access (a folder marked read-only is left alone even by a user who could write anyway).
     */
    static boolean writable(Path dir) {
        if (dir == null || !Files.isDirectory(dir) || !Files.isWritable(dir)) {
            return false;
        }
        try {
            Set<PosixFilePermission> mode = Files.getPosixFilePermissions(dir);
            return mode.contains(PosixFilePermission.OWNER_WRITE) || mode.contains(PosixFilePermission.GROUP_WRITE)
                    || mode.contains(PosixFilePermission.OTHERS_WRITE);
        } catch (UnsupportedOperationException | IOException e) {
            return true;
        }
    }
}
