package io.llmnpu.runtime.model;

import java.nio.file.Path;

/**
 * A model or tokenizer file is damaged, hostile or of a kind llmnpu does not read. The message names
 * the file, the byte offset where the problem was found (or -1 when it concerns the whole file) and
 * what was wrong.
 */
public class ModelFormatException extends RuntimeException {
    private final Path file;
    private final long offset;

    public ModelFormatException(Path file, long offset, String problem) {
        this(file, offset, problem, null);
    }

    public ModelFormatException(Path file, long offset, String problem, Throwable cause) {
        super(file + (offset >= 0 ? " at offset " + offset : "") + ": " + problem, cause);
        this.file = file;
        this.offset = offset;
    }

    public Path file() {
        return file;
    }

    /** Byte offset of the problem, or -1 when it concerns the whole file. */
    public long offset() {
        return offset;
    }
}
