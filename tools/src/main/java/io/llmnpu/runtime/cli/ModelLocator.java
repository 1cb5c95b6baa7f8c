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
            return requireModelFile(explicit, "");
        }
        String env = System.getenv("LLMNPU_MODEL");
        if (env != null && !env.isBlank()) {
            return requireModelFile(Path.of(env), " (from LLMNPU_MODEL)");
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

    /** {@code file} if it is a readable file, else an error that says what it is instead. */
    static Path requireModelFile(Path file, String origin) {
        if (Files.isDirectory(file)) {
            throw new IllegalArgumentException(file + origin + " is a folder, not a model file; name a .gguf file or a llama2.c checkpoint in it");
        }
        if (!Files.exists(file)) {
            throw new IllegalArgumentException("model file not found: " + file + origin);
        }
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw new IllegalArgumentException("cannot read the model file " + file + origin
                    + (Files.isRegularFile(file) ? ": permission denied" : ": it is not a regular file"));
        }
        return file;
    }
}
