package io.llmnpu.runtime.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.llmnpu.runtime.reference.LlamaCppCases;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** {@code llmnpu generate --json}: one JSON object with exactly the documented fields, and llama.cpp's numbers in it. */
class GenerateJsonTest {

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    @Test
    void greedyRunOnAReferenceModelGivesLlamaCppsIds() throws Exception {
        LlamaCppCases c = LlamaCppCases.of("llama3-bpe.gguf").getFirst();
        String out = CliRun.run(0, "generate", "-m", c.path().toString(), "-t", "0", "--no-stop",
                "-n", String.valueOf(c.greedyIds().length), "--threads", "2", "-c", "256", "--json", "--top-logits", "7",
                c.prompt());
        JsonNode json = new ObjectMapper().readTree(out);
        Set<String> fields = new TreeSet<>();
        json.fieldNames().forEachRemaining(fields::add);
        assertEquals(new TreeSet<>(List.of("prompt_ids", "gen_ids", "text", "top_logits", "timings")), fields);
        assertArrayEquals(c.promptIds(), ints(json.get("prompt_ids")));
        assertArrayEquals(c.greedyIds(), ints(json.get("gen_ids")));
        JsonNode top = json.get("top_logits");
        assertEquals(7, top.size());
        for (int i = 0; i < c.top5().length; i++) {
            assertEquals((int) c.top5()[i][0], top.get(i).get(0).asInt());
            assertEquals(c.top5()[i][1], top.get(i).get(1).asDouble(), 1e-3 * Math.abs(c.top5()[i][1]));
        }
        assertTrue(top.get(6).get(1).asDouble() <= top.get(5).get(1).asDouble(), "highest first");
        JsonNode timings = json.get("timings");
        assertEquals(c.promptIds().length, timings.get("prompt_n").asInt());
        assertEquals(c.greedyIds().length, timings.get("predicted_n").asInt());
        assertTrue(timings.get("prompt_ms").asDouble() > 0 && timings.get("predicted_per_second").asDouble() > 0);
        assertTrue(json.get("text").isTextual());
    }
}
