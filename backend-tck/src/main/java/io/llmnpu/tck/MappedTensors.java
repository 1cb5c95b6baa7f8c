package io.llmnpu.tck;

import io.llmnpu.api.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Weights as models hand them to a backend: memory-mapped read-only from a file. A backend's tests use
 * them to check what it does with such weights, e.g. that a backend which copies a weight into its own
 * layout gives the file's pages back ({@link io.llmnpu.api.tensor.ResidentMemory}).
 */
public final class MappedTensors {

    /** Padding before and after the tensor's bytes, so that no page of it holds anything else. */
    private static final int PAD = 1 << 16;

    private MappedTensors() {
    }

    /**
     * {@code tensor}'s bytes written to {@code file} between two 64 KiB pads and mapped read-only into
     * {@code arena}: a tensor of the same name, type and shape over the mapping.
     */
    public static Tensor mapped(Tensor tensor, Path file, Arena arena) throws IOException {
        byte[] bytes = tensor.data().toArray(ValueLayout.JAVA_BYTE);
        byte[] padded = new byte[Math.addExact(2 * PAD, bytes.length)];
        System.arraycopy(bytes, 0, padded, PAD, bytes.length);
        Files.write(file, padded);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment all = channel.map(FileChannel.MapMode.READ_ONLY, 0, padded.length, arena);
            return new Tensor(tensor.name(), tensor.dtype(), tensor.shape(), all.asSlice(PAD, bytes.length));
        }
    }
}
