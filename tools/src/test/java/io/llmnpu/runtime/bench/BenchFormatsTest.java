package io.llmnpu.runtime.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.llmnpu.api.graph.RopeStyle;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.quant.Json;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BenchFormatsTest {

    /** The closed-form FLOP count against a brute-force count, token by token and matrix by matrix. */
    @Test
    void flopCountsMatchABruteForceCount() {
        ModelConfig c = new ModelConfig("llama", 96, 200, 3, 6, 2, 16, 500, 4096, 16, 10000f, RopeStyle.ADJACENT, 1e-5f);
        int[][] matrices = {{96, 96}, {32, 96}, {32, 96}, {96, 96}, {200, 96}, {96, 200}, {200, 96}};
        for (int tokens : List.of(1, 7, 256)) {
            double brute = 0;
            for (int t = 0; t < tokens; t++) {
                for (int l = 0; l < c.layers(); l++) {
                    for (int[] m : matrices) {
                        brute += 2.0 * m[0] * m[1];
                    }
                    for (int h = 0; h < c.heads(); h++) {
                        for (int key = 0; key <= t; key++) {
                            brute += 2.0 * c.headDim() * 2; // q.k and the weighted value, per key
                        }
                    }
                }
            }
            double head = 2.0 * 96 * 500;
            assertEquals(brute + head, ModelFlops.prefill(c, tokens), 1e-6 * brute, "prefill of " + tokens);
            assertEquals(brute + tokens * head, ModelFlops.decode(c, tokens), 1e-6 * brute, "decode of " + tokens);
        }
    }

    @Test
    void jsonEscapesAndNumbersParseBack() {
        String nasty = "quote \" backslash \\ newline \n tab \t bell \u0007 unicode \u2581é";
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("s", nasty);
        values.put("n", 12345678901L);
        values.put("x", 0.000123456789);
        values.put("big", 1.5e20);
        values.put("nan", Double.NaN);
        values.put("empty", List.of());
        values.put("list", List.of(1, "two", false));
        String json = Json.write(values);
        @SuppressWarnings("unchecked")
        Map<String, Object> parsed = (Map<String, Object>) Json.parse(json);
        assertEquals(nasty, parsed.get("s"));
        assertEquals(12345678901.0, parsed.get("n"));
        assertEquals(0.000123456789, (Double) parsed.get("x"), 1e-15);
        assertEquals(1.5e20, parsed.get("big"));
        assertEquals(null, parsed.get("nan"));
        assertEquals(List.of(), parsed.get("empty"));
        assertEquals(List.of(1.0, "two", false), parsed.get("list"));
    }
}
