package io.llmnpu.runtime.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.runtime.sampling.SamplerConfig.Mode;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SamplerConfigTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = ';', value = {
            "negative temperature; -0.1; 0; 1; 0; 1; 64; 1; STANDARD; temperature",
            "NaN temperature; NaN; 0; 1; 0; 1; 64; 1; STANDARD; temperature",
            "infinite temperature; Infinity; 0; 1; 0; 1; 64; 1; STANDARD; temperature",
            "negative top-k; 1; -1; 1; 0; 1; 64; 1; STANDARD; top-k",
            "zero top-p; 1; 0; 0; 0; 1; 64; 1; STANDARD; top-p",
            "top-p above one; 1; 0; 1.01; 0; 1; 64; 1; STANDARD; top-p",
            "negative min-p; 1; 0; 1; -0.1; 1; 64; 1; STANDARD; min-p",
            "min-p above one; 1; 0; 1; 1.5; 1; 64; 1; STANDARD; min-p",
            "zero penalty; 1; 0; 1; 0; 0; 64; 1; STANDARD; repeat penalty",
            "negative window; 1; 0; 1; 0; 1.1; -1; 1; STANDARD; repeat-last-n",
            "top-k in llama2c mode; 1; 40; 0.9; 0; 1; 64; 1; LLAMA2C; LLAMA2C",
            "min-p in llama2c mode; 1; 0; 0.9; 0.1; 1; 64; 1; LLAMA2C; LLAMA2C",
            "penalty in llama2c mode; 1; 0; 0.9; 0; 1.1; 64; 1; LLAMA2C; LLAMA2C",
            "zero seed in llama2c mode; 1; 0; 0.9; 0; 1; 64; 0; LLAMA2C; seed"})
    void rejectsInvalidSettingsNamingTheSetting(String what, float temperature, int topK, float topP, float minP,
            float penalty, int lastN, long seed, Mode mode, String mentioned) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new SamplerConfig(temperature, topK, topP, minP, penalty, lastN, seed, mode));
        assertTrue(e.getMessage().contains(mentioned), what + ": message '" + e.getMessage() + "' should name " + mentioned);
    }

    @Test
    void rejectsAMissingMode() {
        assertThrows(IllegalArgumentException.class, () -> new SamplerConfig(1, 0, 1, 0, 1, 64, 1, null));
    }

    @Test
    void acceptsBoundaryValues() {
        new SamplerConfig(0f, 0, 1f, 0f, 1f, 0, 0L, Mode.STANDARD);
        new SamplerConfig(2f, 1, Float.MIN_VALUE, 1f, 0.5f, 1, -1L, Mode.STANDARD);
        new SamplerConfig(0f, 0, 1f, 0f, 1f, 64, 0L, Mode.LLAMA2C); // greedy needs no seed
    }

    @Test
    void factoryPicksTheSamplerOfTheMode() {
        assertInstanceOf(StandardSampler.class, Samplers.create(SamplerConfig.standard(1f, 40, 0.9f, 0.05f, 1L)));
        assertInstanceOf(Llama2cSampler.class, Samplers.create(SamplerConfig.llama2c(1f, 0.9f, 1L)));
        assertTrue(SamplerConfig.greedy().isGreedy());
        assertEquals(1.3f, SamplerConfig.greedy().withRepeatPenalty(1.3f, 32).repeatPenalty());
    }
}
