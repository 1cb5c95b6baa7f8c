package io.llmnpu.runtime.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.load.LoadedModel;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelFormatException;
import io.llmnpu.runtime.model.load.ModelLoader;
import io.llmnpu.runtime.tokenizer.Tokenizer;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * Any bytes given as a GGUF model either load into a usable model or are refused with a
 * {@link ModelFormatException} that names the file; nothing else may escape (no index errors, no
 * out-of-memory, no hangs). The loader runs whole: header, metadata, tensor table, the model reader
 * and the tokenizer built from the metadata. Seed: a tiny complete llama model, written before the
 * target runs (see {@link FuzzSeeds}); past findings are kept in {@code GgufFuzzTestInputs}.
 */
class GgufFuzzTest {
    @TempDir
    Path dir;

    /** The seed must load: a refused seed would start the fuzzer where random bytes start. */
    @BeforeAll
    static void writeSeeds() throws IOException {
        Path inputs = FuzzSeeds.inputs(GgufFuzzTest.class, "anyBytesLoadOrAreRefusedWithAFormatError");
        FuzzSeeds.writeGgufSeeds(inputs);
        try (LoadedModel seed = ModelLoader.load(inputs.resolve("tiny-llama.gguf"), null)) {
            assertEquals("llama", seed.config().architecture());
        }
    }

    @FuzzTest(maxDuration = "30m")
    void anyBytesLoadOrAreRefusedWithAFormatError(byte[] bytes) {
        Path file = FuzzInput.write(dir.resolve("fuzzed.gguf"), bytes);
        try (LoadedModel model = ModelLoader.load(file, null)) {
            ModelConfig c = model.config();
            assertTrue(c.dim() > 0 && c.layers() > 0 && c.vocabSize() > 0, c::toString);
            for (Tensor t : model.tensors()) {
                if (t.byteSize() > 0) { // every view lies inside the mapping
                    t.data().get(ValueLayout.JAVA_BYTE, 0);
                    t.data().get(ValueLayout.JAVA_BYTE, t.byteSize() - 1);
                }
            }
            Tokenizer tokenizer = model.tokenizer();
            assertEquals(c.vocabSize(), tokenizer.vocabSize());
            for (int id : tokenizer.encode("Once upon a time", true)) {
                assertTrue(id >= 0 && id < tokenizer.vocabSize(), "token id " + id + " outside the vocabulary");
                tokenizer.decode(-1, id);
            }
            model.description();
        } catch (ModelFormatException e) {
            FuzzInput.assertNamesTheFile(e, file);
        }
    }
}
