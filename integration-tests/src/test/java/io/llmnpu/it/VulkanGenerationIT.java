package io.llmnpu.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.llmnpu.backend.vulkan.VulkanBackendProvider;
import io.llmnpu.runtime.api.CancellationToken;
import io.llmnpu.runtime.api.GenerationRequest;
import io.llmnpu.runtime.api.LlmRuntime;
import io.llmnpu.runtime.api.RuntimeOptions;
import io.llmnpu.runtime.engine.BackendRegistry;
import io.llmnpu.runtime.sampling.SamplerConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The reference texts of llama2.c's run.c for stories260K (../shared/models/README.md) with the whole
 * model on the Vulkan backend alone (no other backend to fall back to): prompts as padded prefill
 * chunks, then decode steps, every op on the Vulkan device.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VulkanGenerationIT {
    private static final Path MODEL = Path.of(System.getProperty("llmnpu.shared.dir", "../shared"), "models", "stories260K.gguf");
    static final String TEXT_1 = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. "
            + "One day, she saw a big, red ball. She wanted to play with it, but it was too high.\n"
            + "Lily's mom said, \"Lily, let's go to the park.\" Lily was sad and didn't know what to do. "
            + "She said, \"I want to play with your ball, but I can't find it.\"\n"
            + "Lily was sad and didn't know what to do. She said, \"I'm sorry, Lily. I didn't know what to do.\"\n"
            + "Lily didn't want to help her mom, so she";
    static final String TEXT_4 = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. "
            + "One day, she saw a big, red ball. She wanted to play with it, but it was too high.\nLily";

    private final List<LlmRuntime> opened = new ArrayList<>();

    @BeforeAll
    void requireVulkanAndModel() {
        assumeTrue(Files.isRegularFile(MODEL), "stories260K.gguf not found at " + MODEL);
        String reason = new VulkanBackendProvider().unavailableReason();
        if (!reason.isEmpty()) {
            System.err.println("SKIPPED VulkanGenerationIT: Vulkan not available here: " + reason);
        }
        assumeTrue(reason.isEmpty(), () -> "Vulkan not available here: " + reason);
    }

    @AfterAll
    void closeAll() {
        opened.forEach(LlmRuntime::close);
    }

    private LlmRuntime openOnVulkanAlone(int chunk) {
        BackendRegistry vulkanOnly = new BackendRegistry(List.of(new VulkanBackendProvider()));
        LlmRuntime llm = LlmRuntime.open(RuntimeOptions.of(MODEL).withBackend("vulkan").withContextLength(512)
                .withChunkSize(chunk), vulkanOnly);
        opened.add(llm);
        assertEquals(List.of(llm.deviceName()), llm.devices(), "nothing to fall back to");
        assertTrue(llm.deviceName().startsWith("vulkan/vulkan"), llm.deviceName());
        return llm;
    }

    private static String generate(LlmRuntime llm, String prompt, int maxTokens, SamplerConfig sampler) {
        return llm.generate(new GenerationRequest(prompt, maxTokens, sampler, true), null, new CancellationToken()).text();
    }

    @Test
    void greedyFromBosGivesText1() {
        LlmRuntime llm = openOnVulkanAlone(16);
        assertEquals(TEXT_1, generate(llm, "", 200, SamplerConfig.greedy()));
        assertTrue(llm.deviceName().startsWith("vulkan/"), "still on Vulkan: " + llm.deviceName());
    }

    @Test
    void greedyAfterPromptGivesText4InOneChunkAndInSeveral() {
        for (int chunk : new int[] {8, 2}) {
            LlmRuntime llm = openOnVulkanAlone(chunk);
            assertEquals(TEXT_4, "Once upon a time" + generate(llm, "Once upon a time", 60, SamplerConfig.greedy()),
                    "chunks of " + chunk);
        }
    }
}
