package io.llmnpu.api.tensor;

/**
 * Element types a tensor can hold. Quantized types are stored in blocks exactly as GGUF lays them out,
 * so weights can be used straight from a memory-mapped file.
 *
 * <p>Block layouts (all multi-byte fields little-endian, "F16" an IEEE half). "Value j" counts values
 * within the block; a block's values are consecutive values of one row.
 *
 * <h2>Blocks of 32 values</h2>
 * <ul>
 *   <li>{@link #Q8_0}: F16 d, 32 signed bytes q; value = q * d.</li>
 *   <li>{@link #Q4_0}: F16 d, 16 bytes of nibbles; byte j holds value j (low nibble) and value j + 16
 *       (high nibble); value = (nibble - 8) * d.</li>
 *   <li>{@link #Q4_1}: F16 d, F16 m, 16 bytes of nibbles as Q4_0; value = nibble * d + m.</li>
 *   <li>{@link #Q5_0}: F16 d, 4 bytes qh (a little-endian uint32 whose bit j is the fifth bit of value j),
 *       16 bytes of nibbles as Q4_0; value = ((nibble | bit << 4) - 16) * d.</li>
 *   <li>{@link #Q5_1}: F16 d, F16 m, qh and nibbles as Q5_0; value = (nibble | bit << 4) * d + m.</li>
 *   <li>{@link #IQ4_NL}: F16 d, 16 bytes of nibbles as Q4_0, each an index into the fixed non-linear
 *       table of {@link #iq4nlLevel}; value = level(nibble) * d.</li>
 * </ul>
 *
 * <h2>Super-blocks of 256 values (k-quants)</h2>
 * <ul>
 *   <li>{@link #Q2_K} (84 bytes): 16 bytes of scales (sub-block i of 16 values: scale = low nibble,
 *       min = high nibble of byte i), 64 bytes of 2-bit quants, F16 d, F16 dmin. Value v lives in byte
 *       {@code 32 * (v / 128) + v % 32} at bit shift {@code 2 * ((v % 128) / 32)}; value = d * scale * q
 *       - dmin * min.</li>
 *   <li>{@link #Q3_K} (110 bytes): 32 bytes hmask, 64 bytes of 2-bit quants (placed as in Q2_K), 12
 *       bytes of 6-bit scales, F16 d. Scale i (sub-block of 16 values) has low bits {@code i < 8 ?
 *       b[i] & 15 : b[i - 8] >> 4} and high bits {@code (b[8 + i % 4] >> (2 * (i / 4))) & 3}; bit
 *       {@code v / 32} of hmask byte {@code v % 32} is the high bit of value v; value = d * (scale - 32)
 *       * (q - (bit ? 0 : 4)).</li>
 *   <li>{@link #Q4_K} (144 bytes): F16 d, F16 dmin, 12 bytes of 6-bit scales and mins for 8 sub-blocks
 *       of 32 values ({@code i < 4}: scale {@code b[i] & 63}, min {@code b[i + 4] & 63}; otherwise scale
 *       {@code (b[i + 4] & 15) | (b[i - 4] >> 6) << 4}, min {@code (b[i + 4] >> 4) | (b[i] >> 6) << 4}),
 *       128 bytes of nibbles: bytes {@code 32 * p .. 32 * p + 31} hold sub-block {@code 2p} in their low
 *       and {@code 2p + 1} in their high nibbles; value = d * scale * q - dmin * min.</li>
 *   <li>{@link #Q5_K} (176 bytes): as Q4_K with 32 bytes qh between scales and nibbles: bit {@code v / 32}
 *       of qh byte {@code v % 32} is the fifth bit of value v.</li>
 *   <li>{@link #Q6_K} (210 bytes): 128 bytes ql (low 4 bits), 64 bytes qh (high 2 bits), 16 signed byte
 *       scales (one per 16 values), F16 d. For half h (128 values) and l in 0..31, values
 *       {@code 128h + l + 32s}, s = 0..3, take the low nibble of {@code ql[64h + l]} (s = 0), of
 *       {@code ql[64h + l + 32]} (s = 1), the high nibbles of the same (s = 2, 3), and bits
 *       {@code 2s, 2s + 1} of {@code qh[32h + l]}; value = d * scale * (q - 32).</li>
 * </ul>
 */
public enum DType {
    F32(1, 4),
    F16(1, 2),
    BF16(1, 2),
    Q8_0(32, 34),
    Q4_0(32, 18),
    Q4_1(32, 20),
    Q5_0(32, 22),
    Q5_1(32, 24),
    IQ4_NL(32, 18),
    Q2_K(256, 84),
    Q3_K(256, 110),
    Q4_K(256, 144),
    Q5_K(256, 176),
    Q6_K(256, 210),
    /** Signed 8-bit integers with one scale per tensor (NPU activations and weights). */
    I8(1, 1),
    I32(1, 4);

    private static final byte[] IQ4_NL_LEVELS = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

    private final int blockSize;
    private final int blockBytes;

    DType(int blockSize, int blockBytes) {
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** Level {@code nibble} (0..15) of the fixed {@link #IQ4_NL} table, before scaling by the block's d. */
    public static int iq4nlLevel(int nibble) {
        return IQ4_NL_LEVELS[nibble];
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
