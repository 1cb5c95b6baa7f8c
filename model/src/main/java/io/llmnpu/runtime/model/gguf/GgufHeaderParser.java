package io.llmnpu.runtime.model.gguf;

import io.llmnpu.api.tensor.Shape;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads and validates the GGUF header, metadata and tensor-info table of a mapped file. The file is
 * treated as hostile: every count and length is checked against the bytes left before anything is
 * allocated for it, and the tensor layout is checked (alignment, bounds, overlaps) before any tensor
 * can be used.
 */
final class GgufHeaderParser {
    /** "GGUF" read as a little-endian int. */
    static final int MAGIC = 0x46554747;
    static final int DEFAULT_ALIGNMENT = 32;
    static final String ALIGNMENT_KEY = "general.alignment";

    /** GGUF limits keys to 65535 bytes; tensor names are far shorter in practice (ggml allows 63). */
    static final int MAX_NAME_BYTES = 65_535;
    /** Far above any real metadata string (chat templates are a few KiB). */
    static final long MAX_STRING_BYTES = 64L << 20;
    /** Far above any real vocabulary or merge list; bounds the heap a hostile file can claim. */
    static final int MAX_ARRAY_LENGTH = 1 << 24;
    /** Real files nest at most once; the limit keeps hostile nesting from exhausting the stack. */
    static final int MAX_ARRAY_NESTING = 8;
    static final int MAX_ALIGNMENT = 1 << 30;
    static final int MAX_DIMS = 4;
    /** Far above any real model (large mixture-of-experts files have tens of thousands). */
    static final int MAX_TENSORS = 1 << 20;

    /** Smallest metadata entry: empty key (8-byte length), type (4), one-byte value. */
    private static final int MIN_ENTRY_BYTES = 13;
    /** Smallest tensor info: empty name (8), n_dims (4), type (4), offset (8). */
    private static final int MIN_TENSOR_INFO_BYTES = 24;

    record Header(int version, int alignment, Map<String, Object> metadata, Map<String, Long> keyOffsets,
                  List<GgufTensorInfo> tensors, long dataOffset) {
    }

    private final GgufCursor in;
    /** Start of the tensor data section, known once the tensor-info table has been read. */
    private long dataOffset;

    private GgufHeaderParser(Path file, MemorySegment data) {
        this.in = new GgufCursor(file, data);
    }

    static Header parse(Path file, MemorySegment data) {
        return new GgufHeaderParser(file, data).parse();
    }

    private Header parse() {
        if (in.size() < 4) {
            throw in.error(0, "file of " + in.size() + " bytes is too short for a GGUF header");
        }
        int magic = in.i32("magic");
        if (magic != MAGIC) {
            throw in.error(0, String.format("not a GGUF file: magic bytes are %02x %02x %02x %02x, expected 47 47 55 46 (\"GGUF\")",
                    magic & 0xff, (magic >>> 8) & 0xff, (magic >>> 16) & 0xff, magic >>> 24));
        }
        int version = readVersion();
        long countsAt = in.position();
        long tensorCount = in.i64("tensor count");
        long kvCountAt = in.position();
        long kvCount = in.i64("metadata entry count");
        in.requireCount(countsAt, tensorCount, MIN_TENSOR_INFO_BYTES, "tensor");
        in.requireCount(kvCountAt, kvCount, MIN_ENTRY_BYTES, "metadata entry");
        if (tensorCount > MAX_TENSORS) {
            throw in.error(countsAt, "tensor count " + tensorCount + " exceeds the limit of " + MAX_TENSORS);
        }

        Map<String, Object> metadata = new LinkedHashMap<>();
        Map<String, Long> keyOffsets = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            long entryAt = in.position();
            String key = in.string(MAX_NAME_BYTES, "metadata key");
            if (metadata.containsKey(key)) {
                throw in.error(entryAt, "duplicate metadata key \"" + key + "\"");
            }
            GgufValueType type = readType("value type of key \"" + key + "\"");
            metadata.put(key, readValue(type, key, 0));
            keyOffsets.put(key, entryAt);
        }
        int alignment = alignment(metadata, keyOffsets);
        List<GgufTensorInfo> tensors = readTensorInfos(tensorCount, alignment);
        return new Header(version, alignment, Collections.unmodifiableMap(metadata),
                Collections.unmodifiableMap(keyOffsets), tensors, dataOffset);
    }

    private int readVersion() {
        long at = in.position();
        int version = in.i32("version");
        if (version == 2 || version == 3) {
            return version;
        }
        if (version == 1) {
            throw in.error(at, "GGUF version 1 is not supported (it predates 64-bit counts); "
                    + "re-convert the model with a current llama.cpp");
        }
        int swapped = Integer.reverseBytes(version);
        if (swapped >= 1 && swapped <= 3) {
            throw in.error(at, "big-endian GGUF files are not supported");
        }
        throw in.error(at, "unknown GGUF version " + Integer.toUnsignedString(version) + " (supported: 2 and 3)");
    }

    private GgufValueType readType(String what) {
        long at = in.position();
        long id = in.u32(what);
        GgufValueType type = GgufValueType.byId(id);
        if (type == null) {
            throw in.error(at, "unknown " + what + ": " + id);
        }
        return type;
    }

    /** Reads one value, mapping every integer type to Long (see {@link GgufFile#metadata()}). */
    private Object readValue(GgufValueType type, String key, int depth) {
        String what = "value of key \"" + key + "\"";
        return switch (type) {
            case UINT8 -> (long) Byte.toUnsignedInt(in.i8(what));
            case INT8 -> (long) in.i8(what);
            case UINT16 -> (long) Short.toUnsignedInt(in.i16(what));
            case INT16 -> (long) in.i16(what);
            case UINT32 -> in.u32(what);
            case INT32 -> (long) in.i32(what);
            case UINT64, INT64 -> in.i64(what);
            case FLOAT32 -> in.f32(what);
            case FLOAT64 -> in.f64(what);
            case BOOL -> in.i8(what) != 0;
            case STRING -> in.string(MAX_STRING_BYTES, "string " + what);
            case ARRAY -> readArray(key, depth);
        };
    }

    private List<Object> readArray(String key, int depth) {
        long at = in.position();
        if (depth >= MAX_ARRAY_NESTING) {
            throw in.error(at, "arrays in key \"" + key + "\" are nested deeper than " + MAX_ARRAY_NESTING + " levels");
        }
        GgufValueType elementType = readType("array element type of key \"" + key + "\"");
        long countAt = in.position();
        long count = in.i64("array length of key \"" + key + "\"");
        if (count < 0 || count > MAX_ARRAY_LENGTH) {
            throw in.error(countAt, "array length " + Long.toUnsignedString(count) + " of key \"" + key
                    + "\" exceeds the limit of " + MAX_ARRAY_LENGTH);
        }
        in.requireCount(countAt, count, elementType.minBytes(), "array of " + elementType + " in key \"" + key + "\": element");
        if (elementType.isFixedSize()) {
            byte[] raw = in.bytes(count * elementType.minBytes(), "array of key \"" + key + "\"");
            return new PackedValueList(elementType, raw);
        }
        Object[] items = new Object[(int) count];
        for (int i = 0; i < items.length; i++) {
            items[i] = readValue(elementType, key, depth + 1);
        }
        return Collections.unmodifiableList(Arrays.asList(items));
    }

    private int alignment(Map<String, Object> metadata, Map<String, Long> keyOffsets) {
        Object value = metadata.get(ALIGNMENT_KEY);
        if (value == null) {
            return DEFAULT_ALIGNMENT;
        }
        long at = keyOffsets.get(ALIGNMENT_KEY);
        if (!(value instanceof Long a)) {
            throw in.error(at, ALIGNMENT_KEY + " must be an integer, found " + GgufFile.describeType(value));
        }
        if (a <= 0 || a > MAX_ALIGNMENT || Long.bitCount(a) != 1) {
            throw in.error(at, ALIGNMENT_KEY + " = " + a + " is not a power of two in 1.." + MAX_ALIGNMENT);
        }
        return (int) (long) a;
    }

    /** A tensor entry as stored; its offset is still relative to the data section. */
    private record RawInfo(String name, GgmlType type, Shape shape, long relativeOffset, long byteSize, long infoAt) {
    }

    private List<GgufTensorInfo> readTensorInfos(long count, int alignment) {
        in.requireCount(in.position(), count, MIN_TENSOR_INFO_BYTES, "tensor");
        List<RawInfo> raw = new ArrayList<>((int) count);
        Set<String> names = new HashSet<>();
        for (long i = 0; i < count; i++) {
            raw.add(readTensorInfo(names, alignment));
        }
        long dataOffset = alignUp(in.position(), alignment);
        long available = in.size() - dataOffset; // negative when the padding itself is missing
        List<GgufTensorInfo> tensors = new ArrayList<>(raw.size());
        for (RawInfo r : raw) {
            if (r.relativeOffset > available || r.byteSize > available - r.relativeOffset) {
                throw in.error(r.infoAt, "data of tensor " + r.name + " (" + r.byteSize + " bytes at data offset "
                        + r.relativeOffset + ", file offset " + (dataOffset + r.relativeOffset)
                        + ") extends past the end of the file (" + in.size() + " bytes)");
            }
            tensors.add(new GgufTensorInfo(r.name, r.type, r.shape, dataOffset + r.relativeOffset, r.byteSize, r.infoAt));
        }
        checkNoOverlaps(tensors);
        this.dataOffset = dataOffset;
        return Collections.unmodifiableList(tensors);
    }

    private RawInfo readTensorInfo(Set<String> names, int alignment) {
        long infoAt = in.position();
        String name = in.string(MAX_NAME_BYTES, "tensor name");
        if (!names.add(name)) {
            throw in.error(infoAt, "duplicate tensor name \"" + name + "\"");
        }
        long nDimsAt = in.position();
        long nDims = in.u32("dimension count of tensor " + name);
        if (nDims > MAX_DIMS) {
            throw in.error(nDimsAt, "tensor " + name + " has " + nDims + " dimensions; at most " + MAX_DIMS + " are allowed");
        }
        long[] ne = new long[(int) nDims];
        for (int j = 0; j < ne.length; j++) {
            long dimAt = in.position();
            ne[j] = in.i64("dimension " + j + " of tensor " + name);
            if (ne[j] < 0 || ne[j] > Integer.MAX_VALUE) {
                throw in.error(dimAt, "dimension " + j + " of tensor " + name + " is " + Long.toUnsignedString(ne[j])
                        + ", more than the supported " + Integer.MAX_VALUE);
            }
        }
        long typeAt = in.position();
        long typeId = in.u32("type of tensor " + name);
        GgmlType type = GgmlType.byId(typeId).orElseThrow(
                () -> in.error(typeAt, "unknown ggml type id " + typeId + " in tensor " + name));
        long offsetAt = in.position();
        long relativeOffset = in.i64("data offset of tensor " + name);
        if (relativeOffset < 0) {
            throw in.error(offsetAt, "data offset " + Long.toUnsignedString(relativeOffset) + " of tensor " + name + " is beyond any file size");
        }
        if (relativeOffset % alignment != 0) {
            throw in.error(offsetAt, "data offset " + relativeOffset + " of tensor " + name
                    + " is not a multiple of the alignment " + alignment);
        }
        long rowLength = ne.length == 0 ? 1 : ne[0];
        if (rowLength % type.blockSize() != 0) {
            throw in.error(infoAt, "tensor " + name + " has rows of " + rowLength + " values, not a multiple of the "
                    + type + " block size " + type.blockSize());
        }
        long byteSize;
        try {
            long elements = 1;
            for (long d : ne) {
                elements = Math.multiplyExact(elements, d);
            }
            byteSize = Math.multiplyExact(elements / type.blockSize(), (long) type.blockBytes());
        } catch (ArithmeticException e) {
            throw in.error(infoAt, "dimensions " + Arrays.toString(ne) + " of tensor " + name + " overflow a 64-bit size");
        }
        int[] dims = new int[ne.length];
        for (int j = 0; j < ne.length; j++) {
            dims[j] = (int) ne[ne.length - 1 - j]; // GGUF lists the contiguous dimension first
        }
        return new RawInfo(name, type, Shape.of(dims), relativeOffset, byteSize, infoAt);
    }

    private void checkNoOverlaps(List<GgufTensorInfo> tensors) {
        List<GgufTensorInfo> byOffset = new ArrayList<>(tensors);
        byOffset.removeIf(t -> t.byteSize() == 0);
        byOffset.sort(Comparator.comparingLong(GgufTensorInfo::offset));
        for (int i = 1; i < byOffset.size(); i++) {
            GgufTensorInfo previous = byOffset.get(i - 1);
            GgufTensorInfo current = byOffset.get(i);
            if (previous.end() > current.offset()) {
                throw in.error(current.infoOffset(), "data of tensor " + current.name() + " (bytes " + current.offset()
                        + ".." + current.end() + ") overlaps tensor " + previous.name() + " (bytes "
                        + previous.offset() + ".." + previous.end() + ")");
            }
        }
    }

    static long alignUp(long position, long alignment) {
        long rem = position % alignment;
        return rem == 0 ? position : position + (alignment - rem);
    }
}
