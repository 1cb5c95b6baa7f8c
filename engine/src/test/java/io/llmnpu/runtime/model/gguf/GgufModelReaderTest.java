package io.llmnpu.runtime.model.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.graph.RopeStyle;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.runtime.model.LayerWeights;
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
        Path file = dir.resolve("qnorm.gguf");
        TinyLlamaGguf.writer("qwen2", 1).addTensor("blk.0.attn_q_norm.weight", Shape.of(8), new float[8]).write(file);
        assertMessage(failure(file), "blk.0.attn_q_norm.weight is not part of the LLAMA graph");
        Path layerNorm = dir.resolve("lnbias.gguf");
        TinyLlamaGguf.writer("llama", 1).addTensor("blk.0.attn_norm.bias", Shape.of(32), new float[32]).write(layerNorm);
        assertMessage(failure(layerNorm), "blk.0.attn_norm.bias is not part of the LLAMA graph");
    }

    @Test
    void biasesAreReadWithTheirShapes() throws IOException {
        Path file = dir.resolve("bias.gguf");
        float[] bias = new float[32];
        bias[3] = 1.5f;
        TinyLlamaGguf.writer("qwen2", 1).addTensor("blk.0.attn_q.bias", Shape.of(32), bias).write(file);
        try (Arena arena = Arena.ofConfined()) {
            ParsedModel model = load(file, arena);
            assertEquals(1.5f, model.weights().layers().get(0).get(LayerWeights.BQ).getFloat(3));
            assertTrue(model.weights().layers().get(1).find(LayerWeights.BQ).isEmpty());
        }
        Path wrong = dir.resolve("wrongbias.gguf");
        TinyLlamaGguf.writer("qwen2", 1).addTensor("blk.0.attn_k.bias", Shape.of(32), bias).write(wrong);
        assertMessage(failure(wrong), "blk.0.attn_k.bias has shape [32], expected [16]");
    }

    @Test
    void fusedTensorsAreSplitIntoViewsOfTheirRows() throws IOException {
        int dim = TinyLlamaGguf.DIM;
        int kvDim = TinyLlamaGguf.KV_HEADS * dim / TinyLlamaGguf.HEADS;
        int hidden = TinyLlamaGguf.HIDDEN;
        Path file = dir.resolve("phi3.gguf");
        GgufWriter w = TinyLlamaGguf.writer("phi3", 1, n -> !n.matches("blk\\.\\d+\\.(attn_[qkv]|ffn_gate|ffn_up)\\.weight"));
        for (int l = 0; l < TinyLlamaGguf.LAYERS; l++) {
            float[] qkv = new float[(dim + 2 * kvDim) * dim];
            for (int i = 0; i < qkv.length; i++) {
                qkv[i] = i; // row r holds r * dim .. r * dim + dim - 1
            }
            float[] up = new float[2 * hidden * dim];
            for (int i = 0; i < up.length; i++) {
                up[i] = -i;
            }
            w.addTensor("blk." + l + ".attn_qkv.weight", Shape.of(dim + 2 * kvDim, dim), qkv);
            w.addTensor("blk." + l + ".ffn_up.weight", Shape.of(2 * hidden, dim), up);
        }
        w.write(file);
        try (Arena arena = Arena.ofConfined()) {
            LayerWeights layer = load(file, arena).weights().layers().get(1);
            assertEquals(Shape.of(dim, dim), layer.wq().shape());
            assertEquals(Shape.of(kvDim, dim), layer.wk().shape());
            assertEquals(0f, layer.wq().getFloat(0));
            assertEquals((float) dim * dim, layer.wk().getFloat(0), "k starts after the q rows");
            assertEquals((float) (dim + kvDim) * dim + 5, layer.wv().getFloat(5), "v starts after the k rows");
            assertEquals(Shape.of(hidden, dim), layer.wGate().shape());
            assertEquals(0f, layer.wGate().getFloat(0), "the first half of a doubled ffn_up is the gate");
            assertEquals((float) -hidden * dim, layer.wUp().getFloat(0), "the second half is the up projection");
        }
    }

    @Test
    void missingTensorIsNamed() throws IOException {
        Path file = dir.resolve("missing.gguf");
        TinyLlamaGguf.writer("llama", 1, n -> !n.equals("blk.1.ffn_up.weight")).write(file);
        assertMessage(failure(file), "missing tensor blk.1.ffn_up.weight");
    }

    @Test
    void unsupportedArchitecturesAreRejected() throws IOException {
        assertMessage(failure(TinyLlamaGguf.write(dir.resolve("granite.gguf"), "granite")), "architecture granite is not supported");
        assertMessage(failure(TinyLlamaGguf.write(dir.resolve("gemma3.gguf"), "gemma3")), "architecture gemma3 is not supported");
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
