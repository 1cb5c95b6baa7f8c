package io.llmnpu.runtime.model;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Read-only memory mapping of whole model files: weights are used in place, never copied to the heap. */
public final class MappedFile {
    private MappedFile() {
    }

    /**
     * Maps {@code file} into {@code arena}; the mapping lives until the arena is closed.
     *
     * @throws ModelFormatException if the file cannot be opened or mapped (reported against the file,
     *                              so callers handle one exception type for every load failure)
     */
    public static MemorySegment map(Path file, Arena arena) {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            return channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
        } catch (IOException | UnsupportedOperationException e) {
            throw new ModelFormatException(file, -1, "cannot map the file: " + e, e);
        }
    }
}
