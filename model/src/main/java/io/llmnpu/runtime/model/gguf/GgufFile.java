package io.llmnpu.runtime.model.gguf;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.MappedFile;
import io.llmnpu.runtime.model.ModelFormatException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Function;

/**
 * A GGUF file (version 2 or 3), memory-mapped read-only. Opening it reads and validates the header,
 * all metadata and the tensor-info table; tensor data is never copied, {@link #tensor(String)}
 * returns views of the mapping.
 *
 * <h2>Metadata values</h2>
 * {@link #metadata()} keeps the file's key order and maps the GGUF value types to Java as follows:
 * every integer type (uint8 to int64) to {@link Long} (uint64 as its two's-complement long, the
 * unsigned types otherwise by value), float32 to {@link Float}, float64 to {@link Double}, bool to
 * {@link Boolean}, string to {@link String} (UTF-8; malformed sequences become U+FFFD), and array to an
 * immutable {@code List<Object>} whose elements follow the same mapping (nested arrays are nested
 * lists).
 *
 * <h2>Lifetime</h2>
 * The mapping belongs to the {@link Arena} passed to {@link #open}: this class has no {@code close}.
 * Closing the arena unmaps the file, after which the tensors returned here must not be used
 * (metadata stays readable, it lives on the heap). Use a shared or global arena when other threads
 * read the weights.
 */
public final class GgufFile {
    private final Path path;
    private final long fileSize;
    private final MemorySegment mapping;
    private final GgufHeaderParser.Header header;
    private final Map<String, GgufTensorInfo> tensorsByName;

    private GgufFile(Path path, MemorySegment mapping, GgufHeaderParser.Header header) {
        this.path = path;
        this.fileSize = mapping.byteSize();
        this.mapping = mapping;
        this.header = header;
        Map<String, GgufTensorInfo> byName = new LinkedHashMap<>();
        for (GgufTensorInfo t : header.tensors()) {
            byName.put(t.name(), t);
        }
        this.tensorsByName = byName;
    }

    /**
     * Maps {@code file} into {@code arena} and validates it.
     *
     * @throws ModelFormatException if the file cannot be read or is not a valid GGUF v2/v3 file; the
     *                              message names the file, the offset and the problem
     */
    public static GgufFile open(Path file, Arena arena) {
        MemorySegment mapping = MappedFile.map(file, arena);
        return new GgufFile(file, mapping, GgufHeaderParser.parse(file, mapping));
    }

    public Path path() {
        return path;
    }

    public int version() {
        return header.version();
    }

    /** Alignment of tensor data in bytes ({@code general.alignment}, 32 by default). */
    public int alignment() {
        return header.alignment();
    }

    public long fileSize() {
        return fileSize;
    }

    /** Absolute offset of the tensor data section (where tensor offset 0 lies). */
    public long dataOffset() {
        return header.dataOffset();
    }

    /** All metadata in file order; see the class comment for the value types. */
    public Map<String, Object> metadata() {
        return header.metadata();
    }

    /** All tensor entries in file order. */
    public List<GgufTensorInfo> tensorInfos() {
        return header.tensors();
    }

    /** Tensor counts and sizes per type, largest total size first. */
    public List<GgufTypeSummary> tensorTypeSummary() {
        Map<GgmlType, long[]> totals = new EnumMap<>(GgmlType.class);
        for (GgufTensorInfo t : header.tensors()) {
            long[] acc = totals.computeIfAbsent(t.type(), k -> new long[3]);
            acc[0]++;
            acc[1] += t.shape().elements();
            acc[2] += t.byteSize();
        }
        List<GgufTypeSummary> out = new ArrayList<>();
        totals.forEach((type, acc) -> out.add(new GgufTypeSummary(type, (int) acc[0], acc[1], acc[2])));
        out.sort(Comparator.comparingLong(GgufTypeSummary::bytes).reversed());
        return out;
    }

    public Optional<GgufTensorInfo> tensorInfo(String name) {
        return Optional.ofNullable(tensorsByName.get(name));
    }

    public boolean hasTensor(String name) {
        return tensorsByName.containsKey(name);
    }

    /**
     * The named tensor as a view of the mapped file.
     *
     * @throws ModelFormatException if there is no such tensor or its type is not supported
     */
    public Tensor tensor(String name) {
        GgufTensorInfo info = tensorsByName.get(name);
        if (info == null) {
            throw new ModelFormatException(path, -1, "no tensor named " + name);
        }
        return tensor(info);
    }

    /** The named tensor, or empty if the file has none of that name. */
    public Optional<Tensor> findTensor(String name) {
        GgufTensorInfo info = tensorsByName.get(name);
        return info == null ? Optional.empty() : Optional.of(tensor(info));
    }

    private Tensor tensor(GgufTensorInfo info) {
        DType dtype = info.dtype().orElseThrow(() -> new ModelFormatException(path, info.infoOffset(),
                "unsupported tensor type " + info.type() + " (ggml type " + info.typeId() + ") in tensor " + info.name()));
        return new Tensor(info.name(), dtype, info.shape(), mapping.asSlice(info.offset(), info.byteSize()));
    }

    // ---- metadata access -------------------------------------------------------------------------

    public boolean has(String key) {
        return header.metadata().containsKey(key);
    }

    /** Offset of the metadata entry of {@code key}, or -1 if absent. */
    public long keyOffset(String key) {
        Long at = header.keyOffsets().get(key);
        return at == null ? -1 : at;
    }

    public String getString(String key) {
        return require(key, this::optString);
    }

    public Optional<String> optString(String key) {
        return typed(key, String.class, "a string");
    }

    /** An integer value of any GGUF integer type (uint64 as its two's-complement long). */
    public long getLong(String key) {
        return optLong(key).orElseThrow(() -> missing(key));
    }

    public OptionalLong optLong(String key) {
        Optional<Long> v = typed(key, Long.class, "an integer");
        return v.isPresent() ? OptionalLong.of(v.get()) : OptionalLong.empty();
    }

    /** An integer value that must fit in an int. */
    public int getInt(String key) {
        return require(key, this::optInt);
    }

    public Optional<Integer> optInt(String key) {
        OptionalLong v = optLong(key);
        if (v.isEmpty()) {
            return Optional.empty();
        }
        long value = v.getAsLong();
        if (value < Integer.MIN_VALUE || value > Integer.MAX_VALUE) {
            throw wrong(key, "an integer in the int range", value + " (out of range)");
        }
        return Optional.of((int) value);
    }

    /** A float32 or float64 value, as a float. */
    public float getFloat(String key) {
        return require(key, this::optFloat);
    }

    public Optional<Float> optFloat(String key) {
        Object v = header.metadata().get(key);
        if (v == null) {
            return Optional.empty();
        }
        if (v instanceof Float f) {
            return Optional.of(f);
        }
        if (v instanceof Double d) {
            return Optional.of(d.floatValue());
        }
        throw wrong(key, "a float", describeType(v));
    }

    public boolean getBoolean(String key) {
        return require(key, this::optBoolean);
    }

    public Optional<Boolean> optBoolean(String key) {
        return typed(key, Boolean.class, "a bool");
    }

    /** An array value; elements follow the mapping described in the class comment. */
    public List<Object> getList(String key) {
        return require(key, this::optList);
    }

    @SuppressWarnings("unchecked")
    public Optional<List<Object>> optList(String key) {
        return typed(key, List.class, "an array").map(l -> (List<Object>) l);
    }

    /** An array of strings. */
    public List<String> getStringList(String key) {
        List<Object> list = getList(key);
        for (int i = 0; i < list.size(); i++) {
            if (!(list.get(i) instanceof String)) {
                throw wrong(key, "an array of strings", "an array with " + describeType(list.get(i)) + " at index " + i);
            }
        }
        @SuppressWarnings("unchecked")
        List<String> strings = (List<String>) (List<?>) list;
        return strings;
    }

    /** An array of float32 (or float64, narrowed) values as a float array. */
    public float[] getFloatArray(String key) {
        List<Object> list = getList(key);
        if (list instanceof PackedValueList packed && packed.type() == GgufValueType.FLOAT32) {
            return packed.toFloatArray();
        }
        float[] out = new float[list.size()];
        for (int i = 0; i < out.length; i++) {
            Object v = list.get(i);
            if (v instanceof Float f) {
                out[i] = f;
            } else if (v instanceof Double d) {
                out[i] = d.floatValue();
            } else {
                throw wrong(key, "an array of floats", "an array with " + describeType(v) + " at index " + i);
            }
        }
        return out;
    }

    /** An array of integers that all fit in an int. */
    public int[] getIntArray(String key) {
        List<Object> list = getList(key);
        int[] out = new int[list.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(list.get(i) instanceof Long v)) {
                throw wrong(key, "an array of integers", "an array with " + describeType(list.get(i)) + " at index " + i);
            }
            if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
                throw wrong(key, "an array of int-range integers", "an array with " + v + " at index " + i);
            }
            out[i] = (int) (long) v;
        }
        return out;
    }

    private <T> T require(String key, Function<String, Optional<T>> getter) {
        return getter.apply(key).orElseThrow(() -> missing(key));
    }

    private <T> Optional<T> typed(String key, Class<T> type, String expected) {
        Object v = header.metadata().get(key);
        if (v == null) {
            return Optional.empty();
        }
        if (!type.isInstance(v)) {
            throw wrong(key, expected, describeType(v));
        }
        return Optional.of(type.cast(v));
    }

    private ModelFormatException missing(String key) {
        return new ModelFormatException(path, -1, "missing metadata key \"" + key + "\"");
    }

    private ModelFormatException wrong(String key, String expected, String found) {
        return new ModelFormatException(path, keyOffset(key),
                "metadata key \"" + key + "\" should be " + expected + " but is " + found);
    }

    /** A short description of a metadata value's type, for messages. */
    static String describeType(Object value) {
        return switch (value) {
            case Long l -> "an integer";
            case Float f -> "a float32";
            case Double d -> "a float64";
            case Boolean b -> "a bool";
            case String s -> "a string";
            case List<?> l -> "an array";
            default -> value.getClass().getSimpleName();
        };
    }

    @Override
    public String toString() {
        return "GGUF v" + version() + " " + path + " (" + header.metadata().size() + " keys, "
                + header.tensors().size() + " tensors)";
    }
}
