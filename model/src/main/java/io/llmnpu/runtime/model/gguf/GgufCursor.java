package io.llmnpu.runtime.model.gguf;

import io.llmnpu.runtime.model.ModelFormatException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A bounds-checked little-endian reader over a mapped file. Every read first checks that the bytes
 * are there, so damaged files end in a {@link ModelFormatException} naming the offset instead of an
 * {@link IndexOutOfBoundsException} from the segment.
 */
final class GgufCursor {
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path file;
    private final MemorySegment data;
    private long position;

    GgufCursor(Path file, MemorySegment data) {
        this.file = file;
        this.data = data;
    }

    Path file() {
        return file;
    }

    long position() {
        return position;
    }

    long remaining() {
        return data.byteSize() - position;
    }

    long size() {
        return data.byteSize();
    }

    ModelFormatException error(long offset, String problem) {
        return new ModelFormatException(file, offset, problem);
    }

    /** Fails unless {@code bytes} more bytes can be read; {@code what} says what they would hold. */
    void require(long bytes, String what) {
        if (bytes < 0 || bytes > remaining()) {
            throw error(position, "file is truncated: " + what + " needs "
                    + Long.toUnsignedString(bytes) + " bytes but only " + remaining() + " remain");
        }
    }

    /**
     * Fails unless {@code count} items of at least {@code minBytesEach} bytes can still fit in the file.
     * Counts come straight from the file, so this runs before anything is allocated for them.
     */
    void requireCount(long countOffset, long count, long minBytesEach, String what) {
        if (count < 0 || count > remaining() / minBytesEach) {
            throw error(countOffset, what + " count " + Long.toUnsignedString(count)
                    + " cannot fit in the " + remaining() + " bytes left in the file");
        }
    }

    void skip(long bytes, String what) {
        require(bytes, what);
        position += bytes;
    }

    byte i8(String what) {
        require(1, what);
        return data.get(ValueLayout.JAVA_BYTE, position++);
    }

    short i16(String what) {
        require(2, what);
        short v = data.get(U16, position);
        position += 2;
        return v;
    }

    int i32(String what) {
        require(4, what);
        int v = data.get(U32, position);
        position += 4;
        return v;
    }

    long u32(String what) {
        return Integer.toUnsignedLong(i32(what));
    }

    /** A uint64 or int64 as its two's-complement long. */
    long i64(String what) {
        require(8, what);
        long v = data.get(U64, position);
        position += 8;
        return v;
    }

    float f32(String what) {
        require(4, what);
        float v = data.get(F32, position);
        position += 4;
        return v;
    }

    double f64(String what) {
        require(8, what);
        double v = data.get(F64, position);
        position += 8;
        return v;
    }

    /** Copies {@code length} raw bytes, after checking they exist. */
    byte[] bytes(long length, String what) {
        require(length, what);
        byte[] out = new byte[Math.toIntExact(length)];
        MemorySegment.copy(data, ValueLayout.JAVA_BYTE, position, out, 0, out.length);
        position += length;
        return out;
    }

    /**
     * A GGUF string: uint64 length and UTF-8 bytes. Malformed UTF-8 becomes U+FFFD, as token
     * vocabularies are read for display and matching, never re-encoded into the file.
     */
    String string(long maxBytes, String what) {
        long start = position;
        long length = i64(what + " length");
        if (length < 0 || length > maxBytes) {
            throw error(start, what + " length " + Long.toUnsignedString(length) + " exceeds the limit of " + maxBytes + " bytes");
        }
        if (length > remaining()) {
            throw error(start, what + " length " + length + " runs past the end of the file (" + remaining() + " bytes left)");
        }
        if (length == 0) {
            return "";
        }
        return new String(bytes(length, what), StandardCharsets.UTF_8);
    }
}
