package io.llmnpu.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.graph.RopeStyle;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.ModelReader;
import io.llmnpu.runtime.model.gguf.GgmlType;
import io.llmnpu.runtime.model.gguf.GgufFile;
import io.llmnpu.runtime.model.gguf.GgufTypeSummary;
import io.llmnpu.runtime.model.llama2c.Llama2cCheckpoint;
import io.llmnpu.runtime.model.load.ModelLoader;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The three stories260K files (README table) load with the same configuration and bit-identical weights. */
class ModelLoadingTest {

    /** Values from the README table, which was read from the headers independently. */
    private static void assertStories260K(ModelConfig c, int contextLength) {
        assertEquals("llama", c.architecture());
        assertEquals(64, c.dim());
        assertEquals(172, c.hiddenDim());
        assertEquals(5, c.layers());
        assertEquals(8, c.heads());
        assertEquals(4, c.kvHeads());
        assertEquals(8, c.headDim());
        assertEquals(512, c.vocabSize());
        assertEquals(contextLength, c.contextLength());
        assertEquals(8, c.rotaryDims());
        assertEquals(10000f, c.ropeTheta());
        assertEquals(RopeStyle.ADJACENT, c.ropeStyle());
        assertEquals(1e-5f, c.rmsEps());
    }

    @Test
    void detectsFormats() {
        assertEquals(ModelFormat.GGUF, ModelFormat.detect(SharedModels.file("stories260K.gguf")));
        assertEquals(ModelFormat.LLAMA2C_LEGACY, ModelFormat.detect(SharedModels.file("stories260K.bin")));
        assertEquals(ModelFormat.LLAMA2C_V1, ModelFormat.detect(SharedModels.file("stories260K.v1.bin")));
        assertEquals(ModelFormat.GGUF, ModelFormat.detect(SharedModels.file("ggml-vocab-gpt-2.gguf")));
    }

    @Test
    void allThreeFormatsLoadWithTheReadmeConfig() {
        try (Arena arena = Arena.ofConfined()) {
            ParsedModel gguf = ModelReader.read(SharedModels.file("stories260K.gguf"), arena);
            ParsedModel legacy = ModelReader.read(SharedModels.file("stories260K.bin"), arena);
            ParsedModel v1 = ModelReader.read(SharedModels.file("stories260K.v1.bin"), arena);
            assertStories260K(gguf.config(), 2048);
            assertStories260K(legacy.config(), 512);
            assertStories260K(v1.config(), 512);
            assertEquals(ModelFormat.GGUF, gguf.format());
            assertEquals(ModelFormat.LLAMA2C_LEGACY, legacy.format());
            assertEquals(ModelFormat.LLAMA2C_V1, v1.format());
            assertFalse(gguf.weights().tiedOutput(), "the GGUF stores a separate output.weight");
            assertTrue(legacy.weights().tiedOutput());
            assertTrue(v1.weights().tiedOutput());
            assertNotSame(gguf.weights().tokenEmbedding(), gguf.weights().output());
            assertSame(legacy.weights().tokenEmbedding(), legacy.weights().output());
            assertEquals(Shape.of(512, 64), legacy.weights().tokenEmbedding().shape());
            assertEquals(Shape.of(32, 64), v1.weights().layers().get(4).wk().shape());
        }
    }

    @Test
    void checkpointReportsSharedClassifierAndVersion() {
        try (Arena arena = Arena.ofConfined()) {
            Llama2cCheckpoint legacy = Llama2cCheckpoint.read(SharedModels.file("stories260K.bin"), arena);
            Llama2cCheckpoint v1 = Llama2cCheckpoint.read(SharedModels.file("stories260K.v1.bin"), arena);
            assertEquals(0, legacy.version());
            assertEquals(1, v1.version());
            assertTrue(legacy.sharedClassifier());
            assertTrue(v1.sharedClassifier());
        }
    }

    @Test
    void weightsAreBitIdenticalAcrossFormats() {
        try (Arena arena = Arena.ofConfined()) {
            List<Tensor> gguf = tensors(ModelReader.read(SharedModels.file("stories260K.gguf"), arena).weights());
            List<Tensor> legacy = tensors(ModelReader.read(SharedModels.file("stories260K.bin"), arena).weights());
            List<Tensor> v1 = tensors(ModelReader.read(SharedModels.file("stories260K.v1.bin"), arena).weights());
            assertEquals(gguf.size(), legacy.size());
            assertEquals(gguf.size(), v1.size());
            for (int i = 0; i < gguf.size(); i++) {
                Tensor g = gguf.get(i);
                assertIdentical(g, legacy.get(i));
                assertIdentical(g, v1.get(i));
            }
        }
    }

    @Test
    void ggufTypeSummaryCoversEveryTensor() {
        try (Arena arena = Arena.ofConfined()) {
            GgufFile gguf = GgufFile.open(SharedModels.file("stories260K.gguf"), arena);
            List<GgufTypeSummary> summary = gguf.tensorTypeSummary();
            assertEquals(1, summary.size());
            assertEquals(GgmlType.F32, summary.getFirst().type());
            assertEquals(48, summary.getFirst().tensors());
            // 48 tensors = embedding + output + final norm + 5 x 9 per block; README: 264128 floats in .bin
            // minus 512*8 freq_cis plus one 512x64 output copy.
            long expected = 264128 - 512 * 8 + 512 * 64;
            assertEquals(expected, summary.getFirst().elements());
            assertEquals(4 * expected, summary.getFirst().bytes());
        }
    }

    private static void assertIdentical(Tensor expected, Tensor actual) {
        assertEquals(expected.shape(), actual.shape(), expected.name());
        assertEquals(expected.dtype(), actual.dtype(), expected.name());
        long mismatch = expected.data().asSlice(0, expected.byteSize()).mismatch(actual.data().asSlice(0, actual.byteSize()));
        assertEquals(-1, mismatch, expected.name() + " vs " + actual.name() + " differ at byte " + mismatch);
    }

    private static List<Tensor> tensors(ModelWeights w) {
        List<Tensor> out = new ArrayList<>();
        out.add(w.tokenEmbedding());
        for (LayerWeights l : w.layers()) {
            out.addAll(List.of(l.attnNorm(), l.wq(), l.wk(), l.wv(), l.wo(), l.ffnNorm(), l.wGate(), l.wDown(), l.wUp()));
        }
        out.add(w.finalNorm());
        out.add(w.output());
        return out;
    }

    @Test
    void aFolderOrAMissingFileIsCalledWhatItIs(@TempDir Path dir) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(dir, null));
        assertEquals(dir + ": is a folder, not a model file", e.getMessage());
        Path missing = dir.resolve("missing.gguf");
        e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(missing, null));
        assertEquals(missing + ": does not exist", e.getMessage());
    }
}
