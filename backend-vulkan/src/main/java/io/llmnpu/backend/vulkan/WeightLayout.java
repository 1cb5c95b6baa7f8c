package io.llmnpu.backend.vulkan;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Set;

/**
 * How a weight's rows are laid out in a device buffer, as the shaders' {@code load_weight} reads them.
 * Plain types keep their file bytes. Q8_0 and Q4_0 blocks are split into two arrays, all quants first
 * and then all F16 scales: GGUF's 34- and 18-byte blocks straddle 4-byte words, which shaders read,
 * while split arrays give every block's quants whole aligned words (8 for Q8_0, 4 for Q4_0). The
 * values are the file's exactly; only their order changes. K-quant blocks stay whole, as in the file:
 * Q4_K's 144 bytes are whole words already, Q6_K's 210 bytes are padded to 212 so every block starts
 * on a word.
 */
final class WeightLayout {
    /** Weight types the shaders decode. */
    static final Set<DType> SUPPORTED = Set.of(DType.F32, DType.F16, DType.BF16, DType.Q8_0, DType.Q4_0,
            DType.Q4_K, DType.Q6_K);
    /** {@link #SUPPORTED} in declaration order, for refusal messages. */
    static final String SUPPORTED_NAMES = java.util.Arrays.stream(DType.values()).filter(SUPPORTED::contains)
            .map(DType::name).collect(java.util.stream.Collectors.joining(", "));

    private WeightLayout() {
    }

    /** The shaders' {@code WT_*} code of a weight type (must match common.glsl). */
    static int typeCode(DType type) {
        return switch (type) {
            case F32 -> 0;
            case F16 -> 1;
            case BF16 -> 2;
            case Q8_0 -> 3;
            case Q4_0 -> 4;
            case Q4_K -> 5;
            case Q6_K -> 6;
            default -> throw new IllegalArgumentException("no shaders for weights of type " + type);
        };
    }

    /** Whether blocks of {@code type} keep their file layout (padded to whole words) instead of being split. */
    private static boolean wholeBlocks(DType type) {
        return type == DType.Q4_K || type == DType.Q6_K;
    }

    /** Device bytes of one whole block: the file's block rounded up to whole words. */
    private static int paddedBlockBytes(DType type) {
        return (type.blockBytes() + 3) & ~3;
    }

    /** Bytes of quants per block in the split layout. */
    private static int quantBytes(DType type) {
        return type == DType.Q8_0 ? 32 : 16;
    }

    /** Device bytes of {@code rows} rows of {@code cols} values (whole 4-byte words). */
    static long bytes(DType type, long rows, long cols) {
        long values = rows * cols;
        long raw = wholeBlocks(type)
                ? values / type.blockSize() * paddedBlockBytes(type)
                : type.isQuantized()
                ? values / type.blockSize() * (quantBytes(type) + 2L)
                : type.byteSize(values);
        return (raw + 3) & ~3L;
    }

    /** Where the scales start, in 4-byte words from the buffer start (0 for plain types). */
    static int scaleOffsetWords(DType type, long rows, long cols) {
        if (!type.isQuantized() || wholeBlocks(type)) {
            return 0;
        }
        return Math.toIntExact(rows * cols / type.blockSize() * quantBytes(type) / 4);
    }

    /**
     * Writes rows {@code firstRow .. firstRow + rows} of {@code weight} (a matrix [R, C], or a vector seen
     * as one row) into {@code out} from its start, in the device layout.
     */
    static void encode(Tensor weight, long firstRow, long rows, MemorySegment out) {
        DType type = weight.dtype();
        long cols = weight.shape().cols();
        long start = type.byteSize(firstRow * cols);
        MemorySegment src = weight.data();
        if (!type.isQuantized()) {
            MemorySegment.copy(src, start, out, 0, type.byteSize(rows * cols));
            return;
        }
        long blocks = rows * cols / type.blockSize();
        if (wholeBlocks(type)) {
            int padded = paddedBlockBytes(type);
            for (long b = 0; b < blocks; b++) {
                MemorySegment.copy(src, start + b * type.blockBytes(), out, b * padded, type.blockBytes());
            }
            return;
        }
        int q = quantBytes(type);
        long scales = (long) scaleOffsetWords(type, rows, cols) * 4;
        int blockBytes = type.blockBytes();
        for (long b = 0; b < blocks; b++) {
            long from = start + b * blockBytes;
            MemorySegment.copy(src, from, out, scales + 2 * b, 2);
            MemorySegment.copy(src, from + 2, out, b * q, q);
        }
    }
}
