package io.llmnpu.runtime.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.LayerWeights;
import io.llmnpu.runtime.model.ModelFormatException;
import io.llmnpu.runtime.model.ModelReader;
import io.llmnpu.runtime.model.ParsedModel;
import io.llmnpu.runtime.tokenizer.Llama2cTokenizerReader;
import io.llmnpu.runtime.tokenizer.SentencePieceTokenizer;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * The llama2.c readers on any bytes: a checkpoint (legacy or version 1, told apart by format
 * detection) and a tokenizer file either read into something usable or are refused with a
 * {@link ModelFormatException} naming the file. Seeds: tiny valid checkpoints of both versions and a
 * small tokenizer, written before the targets run by {@link FuzzSeeds}.
 */
class Llama2cFuzzTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void writeSeeds() throws IOException {
        FuzzSeeds.writeCheckpointSeeds(FuzzSeeds.inputs(Llama2cFuzzTest.class, "checkpointBytesLoadOrAreRefusedWithAFormatError"));
        FuzzSeeds.writeTokenizerSeeds(FuzzSeeds.inputs(Llama2cFuzzTest.class, "tokenizerBytesLoadOrAreRefusedWithAFormatError"));
    }

    @FuzzTest(maxDuration = "30m")
    void checkpointBytesLoadOrAreRefusedWithAFormatError(byte[] bytes) {
        Path file = FuzzInput.write(dir.resolve("fuzzed.bin"), bytes);
        try (Arena arena = Arena.ofConfined()) {
            ParsedModel model = ModelReader.read(file, arena);
            List<Tensor> tensors = new ArrayList<>(List.of(model.weights().tokenEmbedding(),
                    model.weights().finalNorm(), model.weights().output()));
            for (LayerWeights l : model.weights().layers()) {
                tensors.addAll(List.of(l.attnNorm(), l.wq(), l.wk(), l.wv(), l.wo(), l.ffnNorm(), l.wGate(),
                        l.wDown(), l.wUp()));
            }
            for (Tensor t : tensors) {
                t.data().get(ValueLayout.JAVA_BYTE, t.byteSize() - 1);
            }
        } catch (ModelFormatException e) {
            FuzzInput.assertNamesTheFile(e, file);
        }
    }

    /**
     * The first two bytes (little-endian, plus 3) are the vocabulary size the model header would give;
     * the rest is the file.
     */
    @FuzzTest(maxDuration = "30m")
    void tokenizerBytesLoadOrAreRefusedWithAFormatError(byte[] bytes) throws IOException {
        if (bytes.length < 2) {
            return;
        }
        int vocabSize = 3 + ((bytes[0] & 0xff) | (bytes[1] & 0xff) << 8);
        Path file = FuzzInput.write(dir.resolve("tokenizer.bin"), Arrays.copyOfRange(bytes, 2, bytes.length));
        SentencePieceTokenizer tokenizer;
        try {
            tokenizer = Llama2cTokenizerReader.read(file, vocabSize);
        } catch (ModelFormatException e) {
            FuzzInput.assertNamesTheFile(e, file);
            return;
        }
        for (String text : List.of("Once upon a time", "héllo wörld 日本 😀", "")) {
            int[] ids = tokenizer.encode(text, true);
            for (int id : ids) {
                assertTrue(id >= 0 && id < vocabSize, "token id " + id + " outside the vocabulary of " + vocabSize);
            }
            tokenizer.decodeAll(ids);
        }
    }
}
