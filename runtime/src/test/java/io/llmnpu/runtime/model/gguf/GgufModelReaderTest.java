package io.llmnpu.runtime.model.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.graph.RopeStyle;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.runtime.model.ParsedModel;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelFormatException;
import io.llmnpu.runtime.model.SharedModels;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufModelReaderTest {
    @TempDir
    Path dir;

    private ParsedModel load(Path file, Arena arena) {
        return GgufModelReader.read(GgufFile.open(file, arena));
    }

    private ModelFormatException failure(Path file) {
        try (Arena arena = Arena.ofConfined()) {
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> load(file, arena));
            assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
            return e;
        }
    }

    private static void assertMessage(ModelFormatException e, String... parts) {
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), "message lacks \"" + part + "\": " + e.getMessage());
        }
    }

    @Test
    void readsMixedTypeTiedModel() throws IOException {
        Path file = TinyLlamaGguf.write(dir.resolve("tiny.gguf"), "llama");
        try (Arena arena = Arena.ofConfined()) {
            ParsedModel model = load(file, arena);
            ModelConfig c = model.config();
            assertEquals(new ModelConfig("llama", 32, 64, 2, 4, 2, 8, 64, 128, 8, 500000f, RopeStyle.ADJACENT, 1e-6f), c);
            assertSame(model.weights().tokenEmbedding(), model.weights().output(), "absent output.weight ties the LM head");
            assertEquals(DType.Q8_0, model.weights().tokenEmbedding().dtype());
            assertEquals(DType.F16, model.weights().layers().get(1).wk().dtype());
            assertEquals(Shape.of(16, 32), model.weights().layers().get(1).wk().shape());
            assertEquals(DType.Q4_0, model.weights().layers().get(0).wDown().dtype());
            assertEquals(Shape.of(32, 64), model.weights().layers().get(0).wDown().shape());
        }
    }

    @Test
    void neoxArchitecturesGetNeoxRope() throws IOException {
        Path file = TinyLlamaGguf.write(dir.resolve("qwen.gguf"), "qwen2");
        try (Arena arena = Arena.ofConfined()) {
            assertEquals(RopeStyle.NEOX, load(file, arena).config().ropeStyle());
        }
        assertEquals(RopeStyle.ADJACENT, GgufModelReader.ropeStyle("llama").orElseThrow());
        assertEquals(RopeStyle.NEOX, GgufModelReader.ropeStyle("phi3").orElseThrow());
    }

    @Test
    void wrongShapeIsNamed() throws IOException {
        Path file = dir.resolve("shape.gguf");
        TinyLlamaGguf.writer("llama", 1, n -> !n.equals("blk.1.attn_q.weight"))
                .addTensor("blk.1.attn_q.weight", Shape.of(16, 32), new float[16 * 32])
                .write(file);
        assertMessage(failure(file), "blk.1.attn_q.weight has shape [16, 32], expected [32, 32]");
    }

    @Test
    void normsMustBeF32() throws IOException {
        Path file = dir.resolve("norm.gguf");
        TinyLlamaGguf.writer("llama", 1, n -> !n.equals("output_norm.weight"))
                .addTensor("output_norm.weight", GgmlType.F16, Shape.of(32), java.lang.foreign.MemorySegment.ofArray(new byte[64]))
                .write(file);
        assertMessage(failure(file), "output_norm.weight is F16", "must be F32");
    }

    @Test
    void unusedTensorsAreRejected() throws IOException {
        Path file = dir.resolve("bias.gguf");
        TinyLlamaGguf.writer("qwen2", 1).addTensor("blk.0.attn_q.bias", Shape.of(32), new float[32]).write(file);
        assertMessage(failure(file), "blk.0.attn_q.bias is not part of the Llama-family graph");
    }

    @Test
    void missingTensorIsNamed() throws IOException {
        Path file = dir.resolve("missing.gguf");
        TinyLlamaGguf.writer("llama", 1, n -> !n.equals("blk.1.ffn_up.weight")).write(file);
        assertMessage(failure(file), "missing tensor blk.1.ffn_up.weight");
    }

    @Test
    void unsupportedArchitecturesAreRejected() throws IOException {
        assertMessage(failure(TinyLlamaGguf.write(dir.resolve("gemma.gguf"), "gemma")), "architecture gemma is not supported");
        assertMessage(failure(TinyLlamaGguf.write(dir.resolve("bert.gguf"), "bert")), "unknown or unsupported architecture \"bert\"");
    }

    @Test
    void headSizesThatOverflowAreRejected() throws IOException {
        Path file = dir.resolve("heads.gguf");
        new GgufWriter()
                .putString("general.architecture", "llama")
                .putUInt32("llama.embedding_length", 32)
                .putUInt32("llama.feed_forward_length", 64)
                .putUInt32("llama.block_count", 1)
                .putUInt32("llama.context_length", 16)
                .putUInt32("llama.attention.head_count", 256)
                .putUInt32("llama.attention.key_length", 1 << 24)
                .addTensor("token_embd.weight", Shape.of(4, 32), new float[128])
                .addTensor("blk.0.attn_q.weight", Shape.of(32, 32), new float[1024])
                .write(file);
        assertMessage(failure(file), "head_count 256", "head size 16777216 exceeds");
    }

    @Test
    void vocabOnlyFileIsNotAModel() {
        Path file = SharedModels.file("ggml-vocab-llama-spm.gguf");
        assertMessage(failure(file), "token_embd.weight is missing");
    }

    @Test
    void unsupportedTensorTypeIsNamed() throws IOException {
        Path file = dir.resolve("iq2xxs.gguf");
        new GgufWriter().addTensor("w", GgmlType.IQ2_XXS, Shape.of(1, 256), java.lang.foreign.MemorySegment.ofArray(new byte[66])).write(file);
        try (Arena arena = Arena.ofConfined()) {
            GgufFile gguf = GgufFile.open(file, arena);
            assertEquals(16, gguf.tensorInfos().getFirst().typeId());
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> gguf.tensor("w"));
            assertMessage(e, "unsupported tensor type IQ2_XXS", "in tensor w", file.toString());
        }
    }
}
