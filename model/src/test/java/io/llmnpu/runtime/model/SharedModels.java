package io.llmnpu.runtime.model;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Locates the real model files in the shared folder next to the repository (see ../shared/models/README.md). */
public final class SharedModels {
    private SharedModels() {
    }

    /** The {@code models} folder, or skips the calling test if it cannot be found. */
    public static Path modelsDir() {
        List<Path> candidates = new ArrayList<>();
        String property = System.getProperty("llmnpu.shared.dir");
        if (property != null && !property.isBlank()) {
            candidates.add(Path.of(property));
        }
        String env = System.getenv("LLMNPU_SHARED_DIR");
        if (env != null && !env.isBlank()) {
            candidates.add(Path.of(env));
        }
        candidates.add(Path.of("../shared"));
        candidates.add(Path.of("../../shared"));
        for (Path dir : candidates) {
            Path models = dir.resolve("models");
            if (Files.isDirectory(models)) {
                return models.toAbsolutePath().normalize();
            }
        }
        assumeTrue(false, "shared model folder not found (tried " + candidates
                + "); set -Dllmnpu.shared.dir or LLMNPU_SHARED_DIR");
        throw new IllegalStateException("unreachable");
    }

    /**
     * A file of {@code ../shared/reference} (small models of other architectures and quantization types
     * with llama.cpp's outputs on them), or skips the calling test if it is absent.
     */
    public static Path referenceFile(String name) {
        Path file = modelsDir().getParent().resolve("reference").resolve(name);
        if (!Files.isRegularFile(file)) {
            file = modelsDir().getParent().resolve("reference").resolve("models").resolve(name);
        }
        assumeTrue(Files.isRegularFile(file), "shared reference file " + file + " is absent");
        return file;
    }

    /** A model file, or skips the calling test if it is absent. */
    public static Path file(String name) {
        Path file = modelsDir().resolve(name);
        assumeTrue(Files.isRegularFile(file), "shared model file " + file + " is absent");
        return file;
    }
}
