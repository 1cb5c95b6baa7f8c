package io.llmnpu.runtime.model.gguf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.AbstractList;
import java.util.Objects;
import java.util.RandomAccess;

/**
 * An immutable metadata array of a fixed-size GGUF type, kept as the file's bytes and boxed on access
 * ({@code Long} for integers, {@code Float}, {@code Double}, {@code Boolean}). Holding the raw bytes
 * keeps large arrays (token scores, token types) as small on the heap as they are in the file.
 */
final class PackedValueList extends AbstractList<Object> implements RandomAccess {
    private final GgufValueType type;
    private final MemorySegment bytes;
    private final int size;

    PackedValueList(GgufValueType type, byte[] bytes) {
        if (!type.isFixedSize()) {
            throw new IllegalArgumentException(type + " is not a fixed-size type");
        }
        this.type = type;
        this.bytes = MemorySegment.ofArray(bytes);
        this.size = bytes.length / type.minBytes();
    }

    GgufValueType type() {
        return type;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public Object get(int index) {
        Objects.checkIndex(index, size);
        long at = (long) index * type.minBytes();
        return switch (type) {
            case UINT8 -> (long) Byte.toUnsignedInt(bytes.get(ValueLayout.JAVA_BYTE, at));
            case INT8 -> (long) bytes.get(ValueLayout.JAVA_BYTE, at);
            case UINT16 -> (long) Short.toUnsignedInt(bytes.get(GgufCursor.U16, at));
            case INT16 -> (long) bytes.get(GgufCursor.U16, at);
            case UINT32 -> Integer.toUnsignedLong(bytes.get(GgufCursor.U32, at));
            case INT32 -> (long) bytes.get(GgufCursor.U32, at);
            case UINT64, INT64 -> bytes.get(GgufCursor.U64, at);
            case FLOAT32 -> bytes.get(GgufCursor.F32, at);
            case FLOAT64 -> bytes.get(GgufCursor.F64, at);
            case BOOL -> bytes.get(ValueLayout.JAVA_BYTE, at) != 0;
            case STRING, ARRAY -> throw new IllegalStateException("not a fixed-size type: " + type);
        };
    }

    /** The values as floats, without boxing; only for FLOAT32 arrays. */
    float[] toFloatArray() {
        if (type != GgufValueType.FLOAT32) {
            throw new IllegalStateException(type + " is not FLOAT32");
        }
        return bytes.toArray(GgufCursor.F32);
    }
}
