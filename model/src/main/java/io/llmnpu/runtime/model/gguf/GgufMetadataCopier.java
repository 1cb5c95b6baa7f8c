package io.llmnpu.runtime.model.gguf;

import io.llmnpu.runtime.model.ModelFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Copies the metadata of a {@link GgufFile} into a {@link GgufWriter} with the value types the file
 * stores. {@link GgufFile#metadata()} widens every integer to a long, which is enough to read a
 * model, but a rewritten file must keep e.g. a uint32 a uint32 for other tools to accept it; the
 * stored type tags are therefore read back from the file at each key's offset.
 */
public final class GgufMetadataCopier {
    private GgufMetadataCopier() {
    }

    /** A new value for a key, written in the key's place. */
    public record Replacement(GgufValueType type, Object value) {
    }

    /**
     * Puts every metadata entry of {@code source} into {@code target}, in file order, leaving out the
     * {@code dropped} keys and writing the {@code replaced} ones with their new value in their place.
     * Replacements for keys the source does not have are not written; the caller adds those.
     *
     * @throws ModelFormatException if the file cannot be read again or holds nested arrays, which no
     *                              model file uses and this copier does not rewrite
     */
    public static void copy(GgufFile source, GgufWriter target, Set<String> dropped, Map<String, Replacement> replaced) {
        try (FileChannel channel = FileChannel.open(source.path(), StandardOpenOption.READ)) {
            for (Map.Entry<String, Object> e : source.metadata().entrySet()) {
                String key = e.getKey();
                if (dropped.contains(key)) {
                    continue;
                }
                Replacement replacement = replaced.get(key);
                if (replacement != null) {
                    target.put(key, replacement.type(), replacement.value());
                    continue;
                }
                long at = source.keyOffset(key);
                ByteBuffer length = read(channel, at, 8);
                long typeAt = at + 8 + length.getLong();
                ByteBuffer tags = read(channel, typeAt, 8);
                GgufValueType type = GgufValueType.byId(Integer.toUnsignedLong(tags.getInt()));
                if (type != GgufValueType.ARRAY) {
                    target.put(key, type, e.getValue());
                    continue;
                }
                GgufValueType elementType = GgufValueType.byId(Integer.toUnsignedLong(tags.getInt()));
                if (elementType == GgufValueType.ARRAY) {
                    throw new ModelFormatException(source.path(), at, "metadata key " + key
                            + " holds nested arrays, which cannot be copied");
                }
                target.put(key, GgufValueType.ARRAY, new GgufWriter.Array(elementType, (List<?>) e.getValue()));
            }
        } catch (IOException e) {
            throw new ModelFormatException(source.path(), -1, "cannot read the metadata again: " + e.getMessage(), e);
        }
    }

    private static ByteBuffer read(FileChannel channel, long at, int bytes) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (channel.read(b, at + b.position()) < 0) {
                throw new IOException("unexpected end of file at " + (at + b.position()));
            }
        }
        return b.flip();
    }
}
