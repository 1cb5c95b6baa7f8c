package io.llmnpu.runtime.tokenizer;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Finds the shared model folder ({@code ../shared/models}) the tokenizer tests read. */
final class SharedTestFiles {
    private SharedTestFiles() {
    }

    /** The path of {@code models/<name>}, or a skipped test when the shared folder is absent. */
    static Path model(String name) {
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
            Path file = dir.resolve("models").resolve(name);
            if (Files.isRegularFile(file)) {
                return file;
            }
        }
        Assumptions.abort("shared model file models/" + name + " not found in " + candidates
                + "; set -Dllmnpu.shared.dir or LLMNPU_SHARED_DIR to the shared folder");
        throw new AssertionError("unreachable");
    }
}
