package io.llmnpu.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.runtime.api.LlmRuntime;
import io.llmnpu.runtime.api.RuntimeOptions;
import io.llmnpu.runtime.engine.BackendRegistry;
import io.llmnpu.runtime.engine.InferenceSession;
import io.llmnpu.tck.skip.RequiresBackend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every architecture whole on the OpenCL backend: the five highest logits after the prompt are
 * llama.cpp's (in order, within 1e-3 relative), and the logits of the decode steps that follow stay
 * with the CPU backend's along llama.cpp's greedy path. Skipped, with the reason printed, where
 * OpenCL cannot run.
 */
@RequiresBackend("opencl")
class OpenClArchitecturesIT {
    private static final Path REFERENCE = Path.of(System.getProperty("llmnpu.shared.dir", "../shared"), "reference");
    private static final int DECODE_STEPS = 6;

    @ParameterizedTest
    @ValueSource(strings = {"llama-spm.gguf", "llama3-bpe.gguf", "qwen2.gguf", "gemma.gguf", "gemma2.gguf",
            "phi2.gguf", "phi3.gguf"})
    void matchesLlamaCppAndTheCpu(String file) throws IOException {
        Path model = REFERENCE.resolve("models").resolve(file);
        assumeTrue(Files.isRegularFile(model), model + " not found");
        BackendRegistry registry = BackendRegistry.discover(getClass().getClassLoader());
        BackendProvider opencl = registry.select("opencl");
        assumeTrue(opencl.unavailableReason().isEmpty(), opencl.unavailableReason());
        JsonNode entry = new ObjectMapper().readTree(REFERENCE.resolve("llamacpp-greedy.json").toFile()).get(file).get(0);
        int[] prompt = ints(entry.get("prompt_ids"));
        int[] greedy = ints(entry.get("gen_ids"));
        try (LlmRuntime gpu = LlmRuntime.open(RuntimeOptions.of(model).withBackend("opencl").withContextLength(128), registry);
             LlmRuntime cpu = LlmRuntime.open(RuntimeOptions.of(model).withBackend("cpu").withThreads(2).withContextLength(128), registry);
             InferenceSession g = gpu.openSession();
             InferenceSession c = cpu.openSession()) {
            assertTrue(gpu.deviceName().startsWith("opencl"), gpu.deviceName());
            float[] logits = g.feed(prompt);
            JsonNode top = entry.get("top5_after_prompt");
            int[] order = IntStream.range(0, logits.length).boxed()
                    .sorted((a, b) -> Float.compare(logits[b], logits[a])).mapToInt(Integer::intValue).limit(top.size()).toArray();
            for (int i = 0; i < top.size(); i++) {
                assertEquals(top.get(i).get(0).asInt(), order[i], file + " rank " + i);
                double expected = top.get(i).get(1).asDouble();
                assertEquals(expected, logits[order[i]], 1e-3 * Math.abs(expected), file + " logit of rank " + i);
            }
            c.feed(prompt);
            for (int step = 0; step < DECODE_STEPS; step++) {
                float[] onGpu = g.feed(greedy[step]);
                float[] onCpu = c.feed(greedy[step]);
                double scale = 1;
                double worst = 0;
                for (int i = 0; i < onCpu.length; i++) {
                    scale = Math.max(scale, Math.abs(onCpu[i]));
                    worst = Math.max(worst, Math.abs(onGpu[i] - onCpu[i]));
                }
                assertTrue(worst <= 1e-3 * scale, file + " decode step " + step + ": OpenCL and CPU differ by " + worst);
            }
        }
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }
}
