package io.llmnpu.runtime.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.runtime.model.ModelFormatException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the file-format fuzz targets share: putting the fuzzer's bytes into a file the readers can
 * map, and the one acceptable way to refuse it.
 */
final class FuzzInput {
    private FuzzInput() {
    }

    /** Writes {@code bytes} to {@code file}, replacing what an earlier execution left there. */
    static Path write(Path file, byte[] bytes) {
        try {
            return Files.write(file, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A refusal is fine when it names the file, so a user knows which of their files is damaged. */
    static void assertNamesTheFile(ModelFormatException e, Path file) {
        assertTrue(file.equals(e.file()) && e.getMessage().contains(file.toString()),
                () -> "the error does not name the file: " + e.getMessage());
    }
}
