package io.llmnpu.runtime.api;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.llmnpu.runtime.model.SharedModels;
import io.llmnpu.runtime.sampling.SamplerConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The reference texts of llama2.c's run.c for stories260K (../shared/models/README.md), produced by the
 * whole stack (loader, tokenizer, graphs on the CPU backend, sampler) from each of the three files.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReferenceTextsTest {
    static final String TEXT_1 = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. "
            + "One day, she saw a big, red ball. She wanted to play with it, but it was too high.\n"
            + "Lily's mom said, \"Lily, let's go to the park.\" Lily was sad and didn't know what to do. "
            + "She said, \"I want to play with your ball, but I can't find it.\"\n"
            + "Lily was sad and didn't know what to do. She said, \"I'm sorry, Lily. I didn't know what to do.\"\n"
            + "Lily didn't want to help her mom, so she";
    static final String TEXT_2 = "Once upon a time, there was a little boy named Timmy. Timmy loved to play with his toys and eat sandwiches. "
            + "One day, Timmy's mom told him it was time to rest for a while. Timmy's friend Billy came over and took him a down.\n"
            + "Timmy's mom saw that Timmy was sad, but Timmy said, \"I didn't understand what is it! We need to find some leafs.\" "
            + "Timmy thought about it and took a deep breath on a spoon. He hoped it was important to be kind and continued to find its image next time.\n"
            + "After they finished getting, Timmy's dad came up to his house and promised to help Timmy.";
    static final String TEXT_3 = "Once upon a time, there was a big roof. The fox was ready to look for people inside. "
            + "He saw a big rock near a big tree. The roof was very small and fun! He ate the roof too. "
            + "He got a shiny stool, so he sicked the roof with his friend, the girl named Mia.\n"
            + "\"Help, Mia. Why are you sad, Mia?\" she asked.\n"
            + "\"I want to try us,\" Mia said. \"It is cute. We have to find one of smells!\"\n"
            + "Mia felt proud of";
    static final String TEXT_4 = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. "
            + "One day, she saw a big, red ball. She wanted to play with it, but it was too high.\nLily";

    private final List<LlmRuntime> opened = new ArrayList<>();

    @BeforeAll
    void checkFilesExist() {
        SharedModels.file("stories260K.bin");
    }

    @AfterAll
    void closeAll() {
        opened.forEach(LlmRuntime::close);
    }

    private LlmRuntime open(String file) {
        Path model = SharedModels.file(file);
        LlmRuntime llm = LlmRuntime.open(RuntimeOptions.of(model).withThreads(2));
        opened.add(llm);
        return llm;
    }

    private static String generate(LlmRuntime llm, String prompt, int maxTokens, SamplerConfig sampler) {
        StringBuilder streamed = new StringBuilder();
        GenerationResult r = llm.generate(new GenerationRequest(prompt, maxTokens, sampler, true),
                (id, text) -> streamed.append(text), new CancellationToken());
        assertEquals(r.text(), streamed.toString(), "streamed text differs from the result's text");
        return r.text();
    }

    @ParameterizedTest
    @ValueSource(strings = {"stories260K.bin", "stories260K.v1.bin", "stories260K.gguf"})
    void greedyFromBosGivesText1(String file) {
        assertEquals(TEXT_1, generate(open(file), "", 200, SamplerConfig.greedy()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"stories260K.bin", "stories260K.v1.bin", "stories260K.gguf"})
    void greedyAfterPromptGivesText4(String file) {
        LlmRuntime llm = open(file);
        assertEquals(List.of(1, 403, 407, 261, 378), boxed(llm.tokenizer().encode("Once upon a time", true)));
        // run.c -n 64 counts positions: 4 prompt tokens after BOS are printed, then 60 generated.
        assertEquals(TEXT_4, "Once upon a time" + generate(llm, "Once upon a time", 60, SamplerConfig.greedy()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"stories260K.bin", "stories260K.v1.bin", "stories260K.gguf"})
    void llama2cSamplingGivesText2(String file) {
        assertEquals(TEXT_2, generate(open(file), "", 256, SamplerConfig.llama2c(1.0f, 0.9f, 133742)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"stories260K.bin", "stories260K.v1.bin", "stories260K.gguf"})
    void llama2cSamplingGivesText3(String file) {
        assertEquals(TEXT_3, generate(open(file), "", 200, SamplerConfig.llama2c(1.0f, 1.0f, 42)));
    }

    private static List<Integer> boxed(int[] ids) {
        List<Integer> list = new ArrayList<>();
        for (int id : ids) {
            list.add(id);
        }
        return list;
    }
}
