package io.llmnpu.runtime.model.gguf;

import io.llmnpu.api.tensor.Shape;
import io.llmnpu.runtime.files.AtomicFiles;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Writes GGUF version 3 files. Metadata and tensor declarations are collected first (GGUF puts the
 * tensor table before the data, so every size must be known up front); {@link #write(Path)} then
 * streams the header and each tensor's data from its {@link TensorSource} straight to the file, so
 * multi-gigabyte models never need to be held in memory.
 *
 * <p>Mistakes in what is declared (duplicate names, values out of a type's range, sources writing the
 * wrong number of bytes) are programming errors and throw {@link IllegalArgumentException} or
 * {@link IllegalStateException}.
 */
public final class GgufWriter {
    private static final int VERSION = 3;
    private static final int COPY_CHUNK_BYTES = 1 << 20;

    /** Produces exactly the bytes of one tensor, in GGUF layout, into {@code out}. */
    @FunctionalInterface
    public interface TensorSource {
        void writeTo(WritableByteChannel out) throws IOException;
    }

    /** An array metadata value: the element type and the elements (nested arrays are {@code Array}s too). */
    public record Array(GgufValueType elementType, List<?> values) {
        public Array {
            Objects.requireNonNull(elementType, "elementType");
            values = List.copyOf(values);
        }
    }

    private record Entry(GgufValueType type, Object value) {
    }

    private record TensorEntry(String name, GgmlType type, Shape shape, long byteSize, TensorSource source) {
    }

    private final int alignment;
    private final Map<String, Entry> metadata = new LinkedHashMap<>();
    private final List<TensorEntry> tensors = new ArrayList<>();
    private final Set<String> tensorNames = new HashSet<>();

    /** A writer with the default alignment of 32 bytes. */
    public GgufWriter() {
        this(GgufHeaderParser.DEFAULT_ALIGNMENT);
    }

    /** A writer aligning tensor data to {@code alignment} bytes (a power of two); records it in the metadata unless it is the default. */
    public GgufWriter(int alignment) {
        if (alignment <= 0 || Integer.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("alignment " + alignment + " is not a power of two");
        }
        this.alignment = alignment;
        if (alignment != GgufHeaderParser.DEFAULT_ALIGNMENT) {
            put(GgufHeaderParser.ALIGNMENT_KEY, GgufValueType.UINT32, (long) alignment);
        }
    }

    // ---- metadata ---------------------------------------------------------------------------------

    /**
     * Adds a metadata value of an explicit type: integers as any {@link Number} within the type's
     * range, floats as {@link Number}, bools as {@link Boolean}, strings as {@link String}, arrays as
     * {@link Array}.
     */
    public GgufWriter put(String key, GgufValueType type, Object value) {
        Objects.requireNonNull(key, "key");
        if (key.getBytes(StandardCharsets.UTF_8).length > GgufHeaderParser.MAX_NAME_BYTES) {
            throw new IllegalArgumentException("key too long: " + key);
        }
        if (metadata.containsKey(key)) {
            throw new IllegalArgumentException("duplicate metadata key " + key);
        }
        checkValue(type, value, key);
        metadata.put(key, new Entry(type, value));
        return this;
    }

    public GgufWriter putString(String key, String value) {
        return put(key, GgufValueType.STRING, value);
    }

    public GgufWriter putUInt32(String key, long value) {
        return put(key, GgufValueType.UINT32, value);
    }

    public GgufWriter putInt32(String key, int value) {
        return put(key, GgufValueType.INT32, value);
    }

    public GgufWriter putUInt64(String key, long value) {
        return put(key, GgufValueType.UINT64, value);
    }

    public GgufWriter putFloat32(String key, float value) {
        return put(key, GgufValueType.FLOAT32, value);
    }

    public GgufWriter putBool(String key, boolean value) {
        return put(key, GgufValueType.BOOL, value);
    }

    public GgufWriter putArray(String key, GgufValueType elementType, List<?> values) {
        return put(key, GgufValueType.ARRAY, new Array(elementType, values));
    }

    private static void checkValue(GgufValueType type, Object value, String key) {
        Objects.requireNonNull(value, () -> "null value for " + key);
        boolean ok = switch (type) {
            case UINT8 -> value instanceof Number n && isIntegral(n) && n.longValue() >= 0 && n.longValue() <= 0xFF;
            case INT8 -> value instanceof Number n && isIntegral(n) && n.longValue() >= Byte.MIN_VALUE && n.longValue() <= Byte.MAX_VALUE;
            case UINT16 -> value instanceof Number n && isIntegral(n) && n.longValue() >= 0 && n.longValue() <= 0xFFFF;
            case INT16 -> value instanceof Number n && isIntegral(n) && n.longValue() >= Short.MIN_VALUE && n.longValue() <= Short.MAX_VALUE;
            case UINT32 -> value instanceof Number n && isIntegral(n) && n.longValue() >= 0 && n.longValue() <= 0xFFFF_FFFFL;
            case INT32 -> value instanceof Number n && isIntegral(n) && n.longValue() >= Integer.MIN_VALUE && n.longValue() <= Integer.MAX_VALUE;
            case UINT64, INT64 -> value instanceof Number n && isIntegral(n);
            case FLOAT32, FLOAT64 -> value instanceof Number;
            case BOOL -> value instanceof Boolean;
            case STRING -> value instanceof String;
            case ARRAY -> value instanceof Array;
        };
        if (!ok) {
            throw new IllegalArgumentException("value " + value + " of " + key + " does not fit type " + type);
        }
        if (value instanceof Array a) {
            for (Object element : a.values()) {
                checkValue(a.elementType(), element, key + "[]");
            }
        }
    }

    private static boolean isIntegral(Number n) {
        return n instanceof Long || n instanceof Integer || n instanceof Short || n instanceof Byte;
    }

    // ---- tensors ----------------------------------------------------------------------------------

    /**
     * Declares a tensor whose data {@code source} will produce when the file is written.
     *
     * @param shape dimensions outermost first, as everywhere in llmnpu
     */
    public GgufWriter addTensor(String name, GgmlType type, Shape shape, TensorSource source) {
        Objects.requireNonNull(source, "source");
        if (!tensorNames.add(name)) {
            throw new IllegalArgumentException("duplicate tensor " + name);
        }
        if (shape.rank() > GgufHeaderParser.MAX_DIMS) {
            throw new IllegalArgumentException("tensor " + name + " has more than " + GgufHeaderParser.MAX_DIMS + " dimensions");
        }
        if (shape.cols() % type.blockSize() != 0) {
            throw new IllegalArgumentException("tensor " + name + " rows of " + shape.cols() + " are not whole " + type + " blocks");
        }
        long bytes = Math.multiplyExact(shape.elements() / type.blockSize(), (long) type.blockBytes());
        tensors.add(new TensorEntry(name, type, shape, bytes, source));
        return this;
    }

    /** Declares a tensor whose bytes (already in GGUF layout for {@code type}) are {@code data}, e.g. a mapped region. */
    public GgufWriter addTensor(String name, GgmlType type, Shape shape, MemorySegment data) {
        return addTensor(name, type, shape, out -> writeSegment(out, data));
    }

    /** Declares an F32 tensor from heap values (small tensors and tests). */
    public GgufWriter addTensor(String name, Shape shape, float[] values) {
        if (values.length != shape.elements()) {
            throw new IllegalArgumentException(name + ": " + values.length + " values for shape " + shape);
        }
        float[] copy = values.clone();
        return addTensor(name, GgmlType.F32, shape, out -> {
            ByteBuffer chunk = ByteBuffer.allocate(COPY_CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < copy.length; ) {
                chunk.clear();
                while (i < copy.length && chunk.remaining() >= 4) {
                    chunk.putFloat(copy[i++]);
                }
                writeFully(out, chunk.flip());
            }
        });
    }

    /** Streams any segment (heap or mapped, of any size) through a small buffer. */
    static void writeSegment(WritableByteChannel out, MemorySegment data) throws IOException {
        ByteBuffer chunk = ByteBuffer.allocateDirect(COPY_CHUNK_BYTES);
        MemorySegment chunkSegment = MemorySegment.ofBuffer(chunk);
        for (long at = 0; at < data.byteSize(); ) {
            int n = (int) Math.min(COPY_CHUNK_BYTES, data.byteSize() - at);
            MemorySegment.copy(data, at, chunkSegment, 0, n);
            writeFully(out, chunk.clear().limit(n));
            at += n;
        }
    }

    // ---- output -----------------------------------------------------------------------------------

    /**
     * Writes the file, replacing any existing one only once the new one is complete (see
     * {@link AtomicFiles}): a write that fails leaves the old file as it was.
     *
     * @throws IOException naming {@code file}
     */
    public void write(Path file) throws IOException {
        AtomicFiles.write(file, this::write);
    }

    /** Writes the file to {@code out}, which must start at position 0 of the file. */
    public void write(WritableByteChannel out) throws IOException {
        LittleEndianBuffer header = new LittleEndianBuffer();
        header.i32(GgufHeaderParser.MAGIC);
        header.i32(VERSION);
        header.i64(tensors.size());
        header.i64(metadata.size());
        for (Map.Entry<String, Entry> e : metadata.entrySet()) {
            header.string(e.getKey());
            header.i32(e.getValue().type().id());
            writeValue(header, e.getValue().type(), e.getValue().value());
        }
        long offset = 0;
        for (TensorEntry t : tensors) {
            header.string(t.name());
            int[] dims = t.shape().dims();
            header.i32(dims.length);
            for (int j = dims.length - 1; j >= 0; j--) {
                header.i64(dims[j]); // GGUF lists the contiguous dimension first
            }
            header.i32(t.type().id());
            header.i64(offset);
            offset = GgufHeaderParser.alignUp(offset + t.byteSize(), alignment);
        }
        header.zeros((int) (GgufHeaderParser.alignUp(header.size(), alignment) - header.size()));
        writeFully(out, header.toByteBuffer());
        for (int i = 0; i < tensors.size(); i++) {
            TensorEntry t = tensors.get(i);
            CountingChannel counted = new CountingChannel(out);
            t.source().writeTo(counted);
            if (counted.count != t.byteSize()) {
                throw new IllegalStateException("source of tensor " + t.name() + " wrote " + counted.count
                        + " bytes, expected " + t.byteSize());
            }
            if (i < tensors.size() - 1) {
                long padding = GgufHeaderParser.alignUp(t.byteSize(), alignment) - t.byteSize();
                writeFully(out, ByteBuffer.allocate((int) padding));
            }
        }
    }

    private static void writeValue(LittleEndianBuffer b, GgufValueType type, Object value) {
        switch (type) {
            case UINT8, INT8 -> b.i8(((Number) value).byteValue());
            case UINT16, INT16 -> b.i16(((Number) value).shortValue());
            case UINT32, INT32 -> b.i32(((Number) value).intValue());
            case UINT64, INT64 -> b.i64(((Number) value).longValue());
            case FLOAT32 -> b.i32(Float.floatToRawIntBits(((Number) value).floatValue()));
            case FLOAT64 -> b.i64(Double.doubleToRawLongBits(((Number) value).doubleValue()));
            case BOOL -> b.i8((byte) ((Boolean) value ? 1 : 0));
            case STRING -> b.string((String) value);
            case ARRAY -> {
                Array a = (Array) value;
                b.i32(a.elementType().id());
                b.i64(a.values().size());
                for (Object element : a.values()) {
                    writeValue(b, a.elementType(), element);
                }
            }
        }
    }

    static void writeFully(WritableByteChannel out, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            out.write(buffer);
        }
    }

    /** Counts what a tensor source writes, so a wrong size is caught before it corrupts the layout. */
    private static final class CountingChannel implements WritableByteChannel {
        private final WritableByteChannel delegate;
        private long count;

        CountingChannel(WritableByteChannel delegate) {
            this.delegate = delegate;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            int n = delegate.write(src);
            count += n;
            return n;
        }

        @Override
        public boolean isOpen() {
            return delegate.isOpen();
        }

        @Override
        public void close() {
            // the writer owns the underlying channel
        }
    }

    /** A growable little-endian byte buffer for the header. */
    private static final class LittleEndianBuffer {
        private ByteBuffer buffer = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        private ByteBuffer room(int bytes) {
            if (buffer.remaining() < bytes) {
                long needed = (long) buffer.position() + bytes;
                ByteBuffer bigger = ByteBuffer.allocate((int) Math.min(Integer.MAX_VALUE - 8,
                        Math.max(needed, 2L * buffer.capacity()))).order(ByteOrder.LITTLE_ENDIAN);
                buffer.flip();
                bigger.put(buffer);
                buffer = bigger;
            }
            return buffer;
        }

        void i8(byte v) {
            room(1).put(v);
        }

        void i16(short v) {
            room(2).putShort(v);
        }

        void i32(int v) {
            room(4).putInt(v);
        }

        void i64(long v) {
            room(8).putLong(v);
        }

        void string(String s) {
            byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
            i64(bytes.length);
            room(bytes.length).put(bytes);
        }

        void zeros(int n) {
            room(n).put(new byte[n]);
        }

        int size() {
            return buffer.position();
        }

        ByteBuffer toByteBuffer() {
            return buffer.duplicate().flip();
        }
    }
}
