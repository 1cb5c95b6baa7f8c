package io.llmnpu.api.tensor;

/**
 * Element types a tensor can hold. Quantized types are stored in blocks exactly as GGUF lays them out,
 * so weights can be used straight from a memory-mapped file.
 */
public enum DType {
    F32(1, 4),
    F16(1, 2),
    BF16(1, 2),
    /** 32 values per block: an F16 scale followed by 32 signed bytes; value = q * scale. */
    Q8_0(32, 34),
    /** 32 values per block: an F16 scale followed by 16 bytes of nibbles; value = (q - 8) * scale. */
    Q4_0(32, 18),
    /** Signed 8-bit integers with one scale per tensor (NPU activations and weights). */
    I8(1, 1),
    I32(1, 4);

    private final int blockSize;
    private final int blockBytes;

    DType(int blockSize, int blockBytes) {
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** Number of values that share one block (1 for plain types). */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes taken by one block. */
    public int blockBytes() {
        return blockBytes;
    }

    public boolean isQuantized() {
        return blockSize > 1;
    }

    /**
     * Bytes needed for {@code elements} values.
     *
     * @throws ArithmeticException if the size overflows a long
     * @throws IllegalArgumentException if a quantized type gets a count that is not a whole number of blocks
     */
    public long byteSize(long elements) {
        if (elements < 0) {
            throw new IllegalArgumentException("negative element count " + elements);
        }
        if (elements % blockSize != 0) {
            throw new IllegalArgumentException(
                    name() + " needs a multiple of " + blockSize + " values, got " + elements);
        }
        return Math.multiplyExact(elements / blockSize, (long) blockBytes);
    }
}
