package io.llmnpu.backend.vulkan;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.tck.TensorDecoder;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The device layout of each weight type, decoded here as the shaders decode it, gives the values the
 * file holds, for the whole weight and for any slice of rows.
 */
class WeightLayoutTest {

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0"})
    void everySliceDecodesToTheFileValues(DType type) {
        Random rnd = new Random(type.ordinal());
        int rows = 7;
        int cols = 96;
        try (Arena arena = Arena.ofConfined()) {
            Tensor weight = Tensor.allocate(arena, "w", type, Shape.of(rows, cols));
            byte[] bytes = new byte[(int) weight.byteSize()];
            rnd.nextBytes(bytes);
            if (type.isQuantized()) {
                for (int b = 0; b < bytes.length; b += type.blockBytes()) {
                    bytes[b + 1] = (byte) (bytes[b + 1] & 0x3B); // finite F16 scales, some subnormal
                }
            } else if (type != DType.F32) {
                for (int i = 1; i < bytes.length; i += 2) {
                    bytes[i] = (byte) (bytes[i] & 0x3F);
                }
            } else {
                for (int i = 3; i < bytes.length; i += 4) {
                    bytes[i] = (byte) (bytes[i] & 0x3F);
                }
            }
            MemorySegment.copy(MemorySegment.ofArray(bytes), 0, weight.data(), 0, bytes.length);
            double[] file = TensorDecoder.toDoubles(weight);
            for (int[] slice : new int[][] {{0, rows}, {0, 3}, {3, 4}, {6, 1}}) {
                long n = slice[1];
                MemorySegment device = arena.allocate(WeightLayout.bytes(type, n, cols), 4);
                WeightLayout.encode(weight, slice[0], n, device);
                int scaleOff = WeightLayout.scaleOffsetWords(type, n, cols);
                double[] decoded = new double[(int) n * cols];
                for (int i = 0; i < decoded.length; i++) {
                    decoded[i] = loadWeight(type, device, i, scaleOff);
                }
                assertArrayEquals(Arrays.copyOfRange(file, slice[0] * cols, (int) (slice[0] + n) * cols), decoded,
                        type + " rows " + slice[0] + "+" + n);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void slicesHoldWholeRowsWithinTheLimit(DType type) {
        long cols = 2048;
        long limit = 64 << 10;
        long perSlice = WeightStore.rowsPerSlice(type, cols, limit);
        assertTrue(perSlice > 0 && WeightLayout.bytes(type, perSlice, cols) <= limit, type + ": " + perSlice);
        assertTrue(WeightLayout.bytes(type, perSlice + 2, cols) > limit, "as many rows as fit");
        assertEquals(0, WeightStore.rowsPerSlice(type, cols, WeightLayout.bytes(type, 1, cols) - 1), "a row that fits nowhere");
    }

    /** The shaders' load_weight (weights.glsl), in Java over the little-endian words of the device layout. */
    private static double loadWeight(DType type, MemorySegment w, long i, int scaleOff) {
        return switch (type) {
            case F32 -> w.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            case F16 -> TensorDecoder.halfToDouble(Short.toUnsignedInt(w.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i)));
            case BF16 -> TensorDecoder.bfloat16ToDouble(Short.toUnsignedInt(w.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i)));
            case Q8_0 -> scale(w, scaleOff, i / 32) * w.get(ValueLayout.JAVA_BYTE, (i / 32) * 32 + i % 32);
            case Q4_0 -> {
                long j = i % 32;
                int bits = Byte.toUnsignedInt(w.get(ValueLayout.JAVA_BYTE, (i / 32) * 16 + (j & 15)));
                int q = j < 16 ? bits & 15 : bits >> 4;
                yield scale(w, scaleOff, i / 32) * (q - 8);
            }
            default -> throw new IllegalArgumentException(type.toString());
        };
    }

    private static double scale(MemorySegment w, int scaleOff, long block) {
        return TensorDecoder.halfToDouble(Short.toUnsignedInt(
                w.get(ValueLayout.JAVA_SHORT_UNALIGNED, scaleOff * 4L + block * 2)));
    }
}
