package io.llmnpu.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Dequantizer;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The vector row widening of every block type ({@link WeightRows}: the prefill GEMM's panels and the
 * decode kernel of the types without a fused one), the embedding row decoder and its reader of many rows,
 * single-element reads and column reads give exactly core-api's {@link Dequantizer} values, bit for bit,
 * on rows of random blocks (every quant, mask and sub-block scale field random; F16 scales of both signs).
 */
class BlockWideningTest {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL", "Q2_K", "Q3_K",
        "Q4_K", "Q5_K", "Q6_K"})
    void wideningEqualsTheScalarDefinition(DType type) {
        int rows = 5;
        int k = 3 * type.blockSize();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment w = randomBlocks(arena, type, rows * k / type.blockSize(), new Random(type.ordinal()));
            float[] expected = Dequantizer.dequantize(type, w, rows * k);
            float[] widened = new float[rows * k + 3];
            MemorySegment decoded = arena.allocate((long) k * Float.BYTES);
            for (int r = 0; r < rows; r++) {
                WeightRows.of(type).widen(w, r, k, widened, 3 + r * k);
                RowDecoder.decode(type, w, r, k, decoded, 0);
                for (int c = 0; c < k; c++) {
                    int i = r * k + c;
                    String where = type + " row " + r + " column " + c;
                    assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(widened[3 + i]), where);
                    assertEquals(expected[i], decoded.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, c), 0f, where);
                    if (c % 7 == 0) {
                        assertEquals(expected[i], WeightElements.get(type, w, r, c, k), 0f, where);
                    }
                }
            }
            // One reader for every row, read last to first: a row copy kept from the row before must not show.
            RowDecoder.Reader reader = RowDecoder.reader(type);
            float[] read = new float[k];
            for (int r = rows - 1; r >= 0; r--) {
                reader.read(w, r, k, read);
                for (int c = 0; c < k; c++) {
                    assertEquals(expected[r * k + c], read[c], 0f, type + " read row " + r + " column " + c);
                }
            }
            float[] column = new float[rows + 2];
            for (int c = 0; c < k; c += 5) {
                WeightElements.column(type, w, c, k, rows, column, 2);
                for (int r = 0; r < rows; r++) {
                    assertEquals(expected[r * k + c], column[2 + r], 0f, type + " column " + c + " row " + r);
                }
            }
        }
    }

    /** Random bytes, with the F16 super-block scales (and mins) set to ordinary values of both signs. */
    static MemorySegment randomBlocks(Arena arena, DType type, int blocks, Random random) {
        MemorySegment w = arena.allocate((long) blocks * type.blockBytes());
        for (long i = 0; i < w.byteSize(); i++) {
            w.set(ValueLayout.JAVA_BYTE, i, (byte) random.nextInt(256));
        }
        int[] halves = switch (type) {
            case Q8_0, Q4_0, Q5_0, IQ4_NL -> new int[] {0};
            case Q4_1, Q5_1, Q4_K, Q5_K -> new int[] {0, 2};
            case Q2_K -> new int[] {80, 82};
            case Q3_K -> new int[] {108};
            case Q6_K -> new int[] {208};
            default -> throw new IllegalArgumentException(type.toString());
        };
        for (int b = 0; b < blocks; b++) {
            for (int at : halves) {
                float v = (float) ((random.nextDouble() - 0.5) * 0.02);
                w.set(I16, (long) b * type.blockBytes() + at, Float.floatToFloat16(v));
            }
        }
        return w;
    }
}
