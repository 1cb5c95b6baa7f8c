package io.llmnpu.runtime.model.gguf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/** Writes GGUF fields one by one, without any checks, to craft damaged and hostile files. */
final class RawGguf {
    private ByteBuffer buffer = ByteBuffer.allocate(1 << 12).order(ByteOrder.LITTLE_ENDIAN);

    /** Magic, version 3, and the two counts. */
    static RawGguf header(long tensorCount, long kvCount) {
        return new RawGguf().bytes('G', 'G', 'U', 'F').u32(3).u64(tensorCount).u64(kvCount);
    }

    RawGguf u8(int v) {
        room(1).put((byte) v);
        return this;
    }

    RawGguf u32(long v) {
        room(4).putInt((int) v);
        return this;
    }

    RawGguf u64(long v) {
        room(8).putLong(v);
        return this;
    }

    RawGguf f32(float v) {
        room(4).putFloat(v);
        return this;
    }

    RawGguf bytes(int... values) {
        for (int v : values) {
            u8(v);
        }
        return this;
    }

    RawGguf str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        u64(b.length);
        room(b.length).put(b);
        return this;
    }

    /** A metadata entry header: key and value type id. */
    RawGguf key(String key, int type) {
        return str(key).u32(type);
    }

    /** A tensor info entry with GGUF-order (innermost first) dimensions. */
    RawGguf tensor(String name, int type, long offset, long... ne) {
        str(name).u32(ne.length);
        for (long d : ne) {
            u64(d);
        }
        return u32(type).u64(offset);
    }

    RawGguf padTo(int alignment) {
        while (position() % alignment != 0) {
            u8(0);
        }
        return this;
    }

    RawGguf zeros(int n) {
        room(n).put(new byte[n]);
        return this;
    }

    int position() {
        return buffer.position();
    }

    Path write(Path file) throws IOException {
        Files.write(file, Arrays.copyOf(buffer.array(), buffer.position()));
        return file;
    }

    private ByteBuffer room(int n) {
        if (buffer.remaining() < n) {
            ByteBuffer bigger = ByteBuffer.allocate(Math.max(buffer.capacity() * 2, buffer.position() + n)).order(ByteOrder.LITTLE_ENDIAN);
            bigger.put(buffer.flip());
            buffer = bigger;
        }
        return buffer;
    }
}
