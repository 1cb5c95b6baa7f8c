package io.llmnpu.runtime.reference;

import io.llmnpu.runtime.model.SharedModels;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;

import io.llmnpu.runtime.sampling.Sampler;
import io.llmnpu.runtime.sampling.SamplerConfig;
import io.llmnpu.runtime.sampling.Samplers;

import org.junit.jupiter.api.Test;

/**
 * {@code Llama2cSampler} fed with the reference model's logits (rounded to float) reproduces the
 * sampled texts that llama2.c {@code run.c} printed for stories260K (README reference texts 2, 3).
 */
class Llama2cReferenceTextsTest {

    /** {@code -t 1.0 -p 0.9 -s 133742} with run.c's default of 256 steps. */
    private static final String TEXT_T1_P09_S133742 = "Once upon a time, there was a little boy named Timmy. Timmy"
            + " loved to play with his toys and eat sandwiches. One day, Timmy's mom told him it was time to rest for a"
            + " while. Timmy's friend Billy came over and took him a down.\n"
            + "Timmy's mom saw that Timmy was sad, but Timmy said, \"I didn't understand what is it! We need to find"
            + " some leafs.\" Timmy thought about it and took a deep breath on a spoon. He hoped it was important to be"
            + " kind and continued to find its image next time.\n"
            + "After they finished getting, Timmy's dad came up to his house and promised to help Timmy.";

    /** {@code -t 1 -p 1 -s 42 -n 200}. */
    private static final String TEXT_T1_P1_S42 = "Once upon a time, there was a big roof. The fox was ready to look"
            + " for people inside. He saw a big rock near a big tree. The roof was very small and fun! He ate the roof"
            + " too. He got a shiny stool, so he sicked the roof with his friend, the girl named Mia.\n"
            + "\"Help, Mia. Why are you sad, Mia?\" she asked.\n"
            + "\"I want to try us,\" Mia said. \"It is cute. We have to find one of smells!\"\n"
            + "Mia felt proud of";

    @Test
    void topP09Seed133742() throws IOException {
        int[] ids = generate(SamplerConfig.llama2c(1.0f, 0.9f, 133742L), 256);
        assertEquals(TEXT_T1_P09_S133742, text(ids));
        // The published text is exactly the 256-position limit: no BOS is sampled on the way.
        assertEquals(256, ids.length);
    }

    @Test
    void plainSamplingSeed42() throws IOException {
        assertEquals(TEXT_T1_P1_S42, text(generate(SamplerConfig.llama2c(1.0f, 1.0f, 42L), 200)));
    }

    @Test
    void greedyThroughTheSamplerMatchesReferenceText1() throws IOException {
        assertEquals(ReferenceLlamaTest.GREEDY_TEXT_200, text(generate(SamplerConfig.llama2c(0f, 0.9f, 1L), 200)));
    }

    private static int[] generate(SamplerConfig config, int steps) throws IOException {
        ReferenceLlama model = new ReferenceLlama(SharedModels.file("stories260K.bin"));
        Sampler sampler = Samplers.create(config);
        return ReferenceGeneration.fromBos(model, steps, logits -> sampler.sample(ReferenceGeneration.toFloat(logits)));
    }

    private static String text(int[] ids) throws IOException {
        return new PieceTable(SharedModels.file("tok512.bin"), 512).text(ReferenceGeneration.BOS, ids);
    }
}
