package io.llmnpu.runtime.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.runtime.model.gguf.GgmlType;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The encoder writes exactly what the reference quantizer (ggml's formulas) writes, for every type. */
class WeightEncoderTest {

    private static byte[] encode(GgmlType type, float[] x) {
        byte[] out = new byte[(int) WeightEncoder.rowBytes(type, x.length)];
        WeightEncoder.encode(type, x, x.length, MemorySegment.ofArray(out));
        return out;
    }

    @Test
    void everyTypeMatchesTheReference() {
        Random random = new Random(3);
        float[] x = new float[32 * 10];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        assertArrayEquals(BlockQuantizer.quantizeQ8_0(x), encode(GgmlType.Q8_0, x));
        assertArrayEquals(BlockQuantizer.quantizeQ4_0(x), encode(GgmlType.Q4_0, x));
        assertArrayEquals(BlockQuantizer.toF16(x), encode(GgmlType.F16, x));
        float[] back = BlockQuantizer.dequantize(DType.F32, MemorySegment.ofArray(encode(GgmlType.F32, x)), x.length);
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
