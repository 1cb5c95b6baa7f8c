package io.llmnpu.runtime.quant;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.runtime.model.LoadedModel;
import io.llmnpu.runtime.model.ModelLoader;
import io.llmnpu.runtime.reference.LlamaCppCases;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The INT8 stages of {@link QuantizedGraphBuilder} spell out the plain Llama block, so models whose
 * graph has more are refused with what they have, not run wrongly.
 */
class LlamaGraphOnlyTest {

    @ParameterizedTest
    @CsvSource({"llama-spm.gguf,", "llama3-bpe.gguf,", "qwen2.gguf,biases", "phi3.gguf,", "gemma.gguf,GEMMA block",
            "gemma2.gguf,sliding-window", "phi2.gguf,PHI2 block"})
    void plainLlamaBlocksOnly(String file, String refusal) {
        try (LoadedModel m = ModelLoader.load(LlamaCppCases.of(file).getFirst().path(), null)) {
            if (refusal == null) {
                assertDoesNotThrow(() -> QuantizedGraphBuilder.requireLlamaGraph(m.config(), m.weights()));
            } else {
                UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                        () -> QuantizedGraphBuilder.requireLlamaGraph(m.config(), m.weights()));
                assertTrue(e.getMessage().contains(refusal), e.getMessage());
            }
        }
    }
}
