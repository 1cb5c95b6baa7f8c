package io.llmnpu.runtime.reference;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.llmnpu.runtime.model.SharedModels;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The cases of {@code ../shared/reference/llamacpp-greedy.json}: for each model file, one or more
 * prompts with the token ids, top-5 logits after the prompt and greedy continuation llama.cpp computed.
 * Every entry of the file becomes a case, so more prompts are checked by adding them there.
 *
 * @param file       model file name in {@code ../shared/reference/models}
 * @param index      position of the prompt among the file's entries
 * @param prompt     the text
 * @param promptIds  llama.cpp's tokenization (with BOS where the model asks for it)
 * @param top5       [id, logit] pairs after the whole prompt, highest first
 * @param greedyIds  greedy continuation, one sequence, no stop at end-of-sequence
 */
public record LlamaCppCases(String file, int index, String prompt, int[] promptIds, double[][] top5, int[] greedyIds) {

    @Override
    public String toString() {
        return file + (index > 0 ? " #" + index : "");
    }

    /** The prompt followed by the greedy continuation: every token llama.cpp fed. */
    public int[] pathIds() {
        int[] path = java.util.Arrays.copyOf(promptIds, promptIds.length + greedyIds.length);
        System.arraycopy(greedyIds, 0, path, promptIds.length, greedyIds.length);
        return path;
    }

    /** Whether the file's weights are float (held to the tight bounds) rather than quantized. */
    public boolean floatWeights() {
        return !file.contains("q4_") && !file.contains("q5_") && !file.contains("q6_") && !file.contains("q8_")
                && !file.contains("q2_") && !file.contains("q3_") && !file.contains("iq");
    }

    /** The reference folder, or skips the calling test. */
    public static Path dir() {
        Path dir = SharedModels.modelsDir().getParent().resolve("reference");
        assumeTrue(Files.isRegularFile(dir.resolve("llamacpp-greedy.json")), "no reference outputs in " + dir);
        return dir;
    }

    public Path path() {
        Path p = dir().resolve("models").resolve(file);
        assumeTrue(Files.isRegularFile(p), "reference model " + p + " is absent");
        return p;
    }

    /** Every case of the file, in file order. */
    public static List<LlamaCppCases> all() {
        Path json = dir().resolve("llamacpp-greedy.json");
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<LlamaCppCases> cases = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            int index = 0;
            for (JsonNode entry : e.getValue()) {
                JsonNode top = entry.get("top5_after_prompt");
                double[][] top5 = new double[top.size()][];
                for (int i = 0; i < top5.length; i++) {
                    top5[i] = new double[] {top.get(i).get(0).asInt(), top.get(i).get(1).asDouble()};
                }
                cases.add(new LlamaCppCases(e.getKey(), index++, entry.get("prompt").asText(), ints(entry.get("prompt_ids")),
                        top5, ints(entry.get("gen_ids"))));
            }
        }
        return cases;
    }

    /** The cases of one model file. */
    public static List<LlamaCppCases> of(String file) {
        return all().stream().filter(c -> c.file().equals(file)).toList();
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }
}
