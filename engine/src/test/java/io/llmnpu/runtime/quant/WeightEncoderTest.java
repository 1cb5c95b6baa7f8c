package io.llmnpu.runtime.quant;

import io.llmnpu.api.tensor.Dequantizer;
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
        float[] back = Dequantizer.dequantize(DType.F32, MemorySegment.ofArray(encode(GgmlType.F32, x)), x.length);
        assertArrayEquals(x, back);
    }

    @Test
    void parsesTypeNamesAndRejectsOthers() {
        assertEquals(QuantRecipe.Q8_0, QuantRecipe.parse("q8_0"));
        assertEquals(QuantRecipe.Q4_0, QuantRecipe.parse("Q4"));
        assertEquals(QuantRecipe.F16, QuantRecipe.parse("fp16"));
        assertEquals(QuantRecipe.F32, QuantRecipe.parse(" F32 "));
        assertEquals(QuantRecipe.Q4_K_M, QuantRecipe.parse("q4_k"), "llama-quantize's short form");
        assertEquals(QuantRecipe.Q5_K_M, QuantRecipe.parse("Q5-K-M"));
        assertEquals(QuantRecipe.IQ4_NL, QuantRecipe.parse("iq4_nl"));
        assertThrows(IllegalArgumentException.class, () -> QuantRecipe.parse("q7_k"));
        assertThrows(IllegalArgumentException.class, () -> QuantRecipe.parse("bf16"));
        assertThrows(IllegalArgumentException.class, () -> WeightEncoder.rowBytes(GgmlType.Q8_0, 172));
        assertEquals(34 * 2, WeightEncoder.rowBytes(GgmlType.Q8_0, 64));
    }
}
