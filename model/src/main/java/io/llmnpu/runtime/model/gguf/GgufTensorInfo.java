package io.llmnpu.runtime.model.gguf;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import java.util.Optional;

/**
 * Where one tensor lies in a GGUF file, as validated by {@link GgufFile#open}.
 *
 * @param name       tensor name, e.g. {@code blk.0.attn_q.weight}
 * @param type       ggml element type (possibly one llmnpu cannot compute with; see {@link #dtype()})
 * @param shape      dimensions outermost first (GGUF stores them innermost first)
 * @param offset     absolute byte offset of the data in the file
 * @param byteSize   bytes of data
 * @param infoOffset absolute byte offset of this tensor's entry in the tensor-info table (for messages)
 */
public record GgufTensorInfo(String name, GgmlType type, Shape shape, long offset, long byteSize, long infoOffset) {

    /** The raw ggml type id as stored in the file. */
    public int typeId() {
        return type.id();
    }

    /** The llmnpu element type, or empty when the ggml type is not supported for computation. */
    public Optional<DType> dtype() {
        return type.dtype();
    }

    /** Absolute offset one past the last byte of data. */
    public long end() {
        return offset + byteSize;
    }

    @Override
    public String toString() {
        return name + ":" + type + shape + "@" + offset;
    }
}
