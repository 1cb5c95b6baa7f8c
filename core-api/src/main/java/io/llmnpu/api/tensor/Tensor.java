package io.llmnpu.api.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * A named, typed block of memory. The memory is usually off-heap: a slice of a memory-mapped model
 * file for weights, or an arena allocation for activations and caches. A tensor does not own its
 * memory; whoever made the arena closes it.
 */
public record Tensor(String name, DType dtype, Shape shape, MemorySegment data) {

    /** Little-endian float, as every model format and kernel uses. */
    public static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED;
    public static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED;

    public Tensor {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(data, "data");
        long need = dtype.byteSize(shape.elements());
        if (data.byteSize() < need) {
            throw new IllegalArgumentException("tensor " + name + " " + dtype + shape + " needs " + need
                    + " bytes but its memory holds " + data.byteSize());
        }
    }

    /** A zero-filled tensor in {@code arena}, 64-byte aligned for vector loads. */
    public static Tensor allocate(Arena arena, String name, DType dtype, Shape shape) {
        return new Tensor(name, dtype, shape, arena.allocate(dtype.byteSize(shape.elements()), 64));
    }

    public long byteSize() {
        return dtype.byteSize(shape.elements());
    }

    public float getFloat(long index) {
        requireType(DType.F32);
        return data.getAtIndex(F32_LE, index);
    }

    public void setFloat(long index, float value) {
        requireType(DType.F32);
        data.setAtIndex(F32_LE, index, value);
    }

    public int getInt(long index) {
        requireType(DType.I32);
        return data.getAtIndex(I32_LE, index);
    }

    public void setInt(long index, int value) {
        requireType(DType.I32);
        data.setAtIndex(I32_LE, index, value);
    }

    /** Copies an F32 tensor's values to a new heap array (for small tensors: logits, test data). */
    public float[] toFloatArray() {
        requireType(DType.F32);
        return data.asSlice(0, byteSize()).toArray(ValueLayout.JAVA_FLOAT);
    }

    private void requireType(DType expected) {
        if (dtype != expected) {
            throw new IllegalStateException("tensor " + name + " is " + dtype + ", not " + expected);
        }
    }

    @Override
    public String toString() {
        return name + ":" + dtype + shape;
    }
}
