package io.llmnpu.runtime.reference;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Assumptions;

/**
 * Finds the real model files in {@code ../shared/models}: the {@code llmnpu.shared.dir} system
 * property, then the {@code LLMNPU_SHARED_DIR} environment variable, then {@code ../shared} and
 * {@code ../../shared}. Tests are skipped (not failed) only when none of them holds the file.
 */
public final class SharedModelFiles {

    private SharedModelFiles() {
    }

    /** The path of {@code models/<name>} in the shared folder; skips the calling test if absent. */
    public static Path model(String name) {
        List<Path> tried = new ArrayList<>();
        for (Path root : candidateRoots()) {
            Path file = root.resolve("models").resolve(name);
            if (Files.isRegularFile(file)) {
                return file;
            }
            tried.add(file.toAbsolutePath().normalize());
        }
        Assumptions.abort("model file " + name + " not found (set -Dllmnpu.shared.dir or LLMNPU_SHARED_DIR); tried " + tried);
        throw new AssertionError("unreachable");
    }

    private static List<Path> candidateRoots() {
        List<Path> roots = new ArrayList<>();
        String property = System.getProperty("llmnpu.shared.dir");
        if (property != null && !property.isBlank()) {
            roots.add(Path.of(property));
        }
        String env = System.getenv("LLMNPU_SHARED_DIR");
        if (env != null && !env.isBlank()) {
            roots.add(Path.of(env));
        }
        roots.add(Path.of("..", "shared"));
        roots.add(Path.of("..", "..", "shared"));
        return roots;
    }
}
