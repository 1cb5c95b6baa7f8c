package io.llmnpu.tck;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Dequantizer;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The suite's double-precision decoder and core-api's float {@link Dequantizer} (which backends and
 * the runtime use) are written independently from the layouts; on random bits in every field they
 * must agree to float rounding (a few units in the last place of the block's largest value).
 */
class BlockDecodersAgreeTest {

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL", "Q2_K", "Q3_K",
        "Q4_K", "Q5_K", "Q6_K", "F16", "BF16", "F32"})
    void floatAndDoubleDecodersAgreeOnRandomBlocks(DType type) {
        try (Arena arena = Arena.ofConfined()) {
            for (int seed = 0; seed < 20; seed++) {
                RandomTensors data = new RandomTensors(arena, new Random(seed));
                int cols = 4 * type.blockSize();
                Tensor t = data.weights("w", type, Shape.of(3, cols), 1.0 + seed);
                double[] expected = TensorDecoder.toDoubles(t);
                float[] actual = Dequantizer.dequantize(type, t.data(), 3 * cols);
                double largest = 0;
                for (double v : expected) {
                    largest = Math.max(largest, Math.abs(v));
                }
                assertTrue(largest > 0, "random blocks hold non-zero values");
                for (int i = 0; i < expected.length; i++) {
                    assertEquals(expected[i], actual[i], largest * 3e-7, type + " seed " + seed + " value " + i);
                }
            }
        }
    }
}
