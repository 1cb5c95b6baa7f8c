package io.llmnpu.runtime.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Dequantizer;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.util.HexFormat;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * core-api's {@link Dequantizer} against ggml's own {@code to_float} of the same bytes: for every type,
 * two blocks of pseudo-random bytes (random quants, sub-block scales and masks; F16 scales set to
 * ordinary values) dequantized by llama.cpp c392e509 and recorded in
 * {@code ggml-dequantized-blocks.json}. Both compute in float in the same order, so they agree bit
 * for bit; a misread field (nibble order, scale packing, bit position) changes most values.
 */
class GgmlDequantizationTest {

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q4_1", "Q5_0", "Q5_1", "IQ4_NL", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void dequantizesLikeGgml(DType type) throws IOException {
        JsonNode blocks;
        try (InputStream in = getClass().getResourceAsStream("ggml-dequantized-blocks.json")) {
            blocks = new ObjectMapper().readTree(in).get(type.name());
        }
        byte[] bytes = HexFormat.of().parseHex(blocks.get("hex").asText());
        JsonNode values = blocks.get("values");
        assertEquals(2 * type.blockBytes(), bytes.length);
        float[] ours = Dequantizer.dequantize(type, MemorySegment.ofArray(bytes), values.size());
        int nonZero = 0;
        for (int i = 0; i < ours.length; i++) {
            float ggml = (float) values.get(i).asDouble();
            assertEquals(ggml, ours[i], 0f, type + " value " + i);
            nonZero += ggml != 0 ? 1 : 0;
        }
        assertEquals(2 * type.blockSize(), values.size());
        assertTrue(nonZero > ours.length / 2, "the fixture is not vacuous");
    }
}
