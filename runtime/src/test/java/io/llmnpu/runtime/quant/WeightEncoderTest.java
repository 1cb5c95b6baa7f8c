package io.llmnpu.runtime.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.llmnpu.runtime.model.gguf.GgmlType;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.Test;

/** The encoder writes exactly what the reference quantizer (ggml's formulas) writes. */
class WeightEncoderTest {

    private static byte[] encode(GgmlType type, float[] x) {
        byte[] out = new byte[(int) WeightEncoder.rowBytes(type, x.length)];
        WeightEncoder.encode(type, x, x.length, MemorySegment.ofArray(out));
        return out;
    }

    @RepeatedTest(20)
    void q8_0MatchesTheReferenceOnRandomAndTieValues(RepetitionInfo rep) {
        Random random = new Random(rep.getCurrentRepetition());
        float[] x = new float[32 * 64];
        for (int b = 0; b < 64; b++) {
            float scale = (float) Math.pow(10, random.nextInt(9) - 6);
            int kind = random.nextInt(4);
            for (int j = 0; j < 32; j++) {
                x[b * 32 + j] = switch (kind) {
                    // Multiples of amax/254 land x * (127 / amax) on or next to .5 ties.
                    case 0 -> (j == 0 ? 254 : random.nextInt(509) - 254) * scale / 2f;
                    case 1 -> 0f;
                    case 2 -> (float) random.nextGaussian() * scale;
                    default -> (random.nextBoolean() ? -1 : 1) * (random.nextInt(128) + 0.5f) * scale;
                };
            }
        }
        assertArrayEquals(BlockQuantizer.quantizeQ8_0(x), encode(GgmlType.Q8_0, x));
    }

    @Test
    void otherTypesMatchTheReference() {
        Random random = new Random(3);
        float[] x = new float[32 * 10];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        assertArrayEquals(BlockQuantizer.quantizeQ4_0(x), encode(GgmlType.Q4_0, x));
        assertArrayEquals(BlockQuantizer.toF16(x), encode(GgmlType.F16, x));
        float[] back = BlockQuantizer.dequantize(io.llmnpu.api.tensor.DType.F32, MemorySegment.ofArray(encode(GgmlType.F32, x)), x.length);
        assertArrayEquals(x, back);
    }

    @Test
    void parsesTypeNamesAndRejectsOthers() {
        assertEquals(GgmlType.Q8_0, WeightEncoder.parse("q8_0"));
        assertEquals(GgmlType.Q4_0, WeightEncoder.parse("Q4"));
        assertEquals(GgmlType.F16, WeightEncoder.parse("fp16"));
        assertEquals(GgmlType.F32, WeightEncoder.parse(" F32 "));
        assertThrows(IllegalArgumentException.class, () -> WeightEncoder.parse("q4_k"));
        assertThrows(IllegalArgumentException.class, () -> WeightEncoder.rowBytes(GgmlType.Q8_0, 172));
        assertEquals(34 * 2, WeightEncoder.rowBytes(GgmlType.Q8_0, 64));
    }
}
