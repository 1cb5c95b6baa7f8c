package io.llmnpu.runtime.model.gguf;

import io.llmnpu.api.tensor.DType;
import java.util.Optional;

/**
 * Tensor element types of ggml, with the ids GGUF stores. Every type is listed, not only those llmnpu
 * computes with, so that a file's layout (tensor sizes, overlaps, end of data) can be validated and
 * described even when some of its tensors cannot be used.
 */
public enum GgmlType {
    F32(0, 1, 4, DType.F32),
    F16(1, 1, 2, DType.F16),
    Q4_0(2, 32, 18, DType.Q4_0),
    Q4_1(3, 32, 20, DType.Q4_1),
    Q5_0(6, 32, 22, DType.Q5_0),
    Q5_1(7, 32, 24, DType.Q5_1),
    Q8_0(8, 32, 34, DType.Q8_0),
    Q8_1(9, 32, 36, null),
    Q2_K(10, 256, 84, DType.Q2_K),
    Q3_K(11, 256, 110, DType.Q3_K),
    Q4_K(12, 256, 144, DType.Q4_K),
    Q5_K(13, 256, 176, DType.Q5_K),
    Q6_K(14, 256, 210, DType.Q6_K),
    Q8_K(15, 256, 292, null),
    IQ2_XXS(16, 256, 66, null),
    IQ2_XS(17, 256, 74, null),
    IQ3_XXS(18, 256, 98, null),
    IQ1_S(19, 256, 50, null),
    IQ4_NL(20, 32, 18, DType.IQ4_NL),
    IQ3_S(21, 256, 110, null),
    IQ2_S(22, 256, 82, null),
    IQ4_XS(23, 256, 136, null),
    I8(24, 1, 1, null),
    I16(25, 1, 2, null),
    I32(26, 1, 4, null),
    I64(27, 1, 8, null),
    F64(28, 1, 8, null),
    IQ1_M(29, 256, 56, null),
    BF16(30, 1, 2, DType.BF16),
    TQ1_0(34, 256, 54, null),
    TQ2_0(35, 256, 66, null),
    MXFP4(39, 32, 17, null);

    private static final GgmlType[] BY_ID = new GgmlType[40];

    static {
        for (GgmlType t : values()) {
            BY_ID[t.id] = t;
        }
    }

    private final int id;
    private final int blockSize;
    private final int blockBytes;
    private final DType dtype;

    GgmlType(int id, int blockSize, int blockBytes, DType dtype) {
        this.id = id;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
        this.dtype = dtype;
    }

    /** The type with this GGUF id, or empty for ids ggml does not define (or has removed). */
    public static Optional<GgmlType> byId(long id) {
        return id >= 0 && id < BY_ID.length ? Optional.ofNullable(BY_ID[(int) id]) : Optional.empty();
    }

    /** The id of {@code dtype} in GGUF files. */
    public static GgmlType of(DType dtype) {
        for (GgmlType t : values()) {
            if (t.dtype == dtype) {
                return t;
            }
        }
        throw new IllegalArgumentException(dtype + " has no GGUF type");
    }

    public int id() {
        return id;
    }

    /** Values per block; a row (innermost dimension) must hold a whole number of blocks. */
    public int blockSize() {
        return blockSize;
    }

    public int blockBytes() {
        return blockBytes;
    }

    /** The llmnpu element type, or empty when llmnpu cannot compute with this type. */
    public Optional<DType> dtype() {
        return Optional.ofNullable(dtype);
    }
}
