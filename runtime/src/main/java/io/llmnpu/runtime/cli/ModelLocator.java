package io.llmnpu.runtime.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds the model to run when the user names none: {@code $LLMNPU_MODEL}, then the default model in
 * {@code ../shared/models} beside the llmnpu checkout (the launcher passes its location as the
 * system property {@code llmnpu.home}) or beside the working directory.
 */
final class ModelLocator {
    static final String DEFAULT_MODEL = "stories260K.gguf";

    private ModelLocator() {
    }

    static Path resolve(Path explicit) {
        if (explicit != null) {
            if (!Files.isRegularFile(explicit)) {
                throw new IllegalArgumentException("model file not found: " + explicit);
            }
            return explicit;
        }
        String env = System.getenv("LLMNPU_MODEL");
        if (env != null && !env.isBlank()) {
            Path p = Path.of(env);
            if (!Files.isRegularFile(p)) {
                throw new IllegalArgumentException("LLMNPU_MODEL points to " + p + ", which is not a file");
            }
            return p;
        }
        List<Path> candidates = new ArrayList<>();
        String home = System.getProperty("llmnpu.home");
        if (home != null) {
            candidates.add(Path.of(home, "..", "shared", "models", DEFAULT_MODEL));
        }
        candidates.add(Path.of("..", "shared", "models", DEFAULT_MODEL));
        candidates.add(Path.of("shared", "models", DEFAULT_MODEL));
        for (Path c : candidates) {
            if (Files.isRegularFile(c)) {
                return c.normalize();
            }
        }
        throw new IllegalArgumentException("no model given and the default model " + DEFAULT_MODEL
                + " was not found (looked at " + candidates.stream().map(p -> p.toAbsolutePath().normalize().toString()).toList()
                + "). Point llmnpu at any Llama-family GGUF file with -m path/to/model.gguf, or set LLMNPU_MODEL.");
    }
}
