package io.llmnpu.runtime.model.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.ModelFormatException;
import io.llmnpu.runtime.model.SharedModels;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class GgufFileTest {

    @Test
    void readsStories260K() throws IOException {
        Path file = SharedModels.file("stories260K.gguf");
        try (Arena arena = Arena.ofConfined()) {
            GgufFile gguf = GgufFile.open(file, arena);
            assertTrue(gguf.version() == 2 || gguf.version() == 3, "version " + gguf.version());
            assertEquals(32, gguf.alignment());
            assertEquals("llama", gguf.getString("general.architecture"));
            assertEquals(64, gguf.getInt("llama.embedding_length"));
            assertEquals(172, gguf.getInt("llama.feed_forward_length"));
            assertEquals(5, gguf.getInt("llama.block_count"));
            assertEquals(8, gguf.getInt("llama.attention.head_count"));
            assertEquals(4, gguf.getInt("llama.attention.head_count_kv"));
            assertEquals(2048, gguf.getInt("llama.context_length"));
            assertEquals(8, gguf.getInt("llama.rope.dimension_count"));
            assertEquals(1e-5f, gguf.getFloat("llama.attention.layer_norm_rms_epsilon"));
            assertEquals(1, gguf.getInt("tokenizer.ggml.bos_token_id"));
            assertEquals(2, gguf.getInt("tokenizer.ggml.eos_token_id"));
            assertEquals(0, gguf.getInt("tokenizer.ggml.unknown_token_id"));

            List<String> tokens = gguf.getStringList("tokenizer.ggml.tokens");
            assertEquals(512, tokens.size());
            assertEquals("<unk>", tokens.get(0));
            assertEquals("<s>", tokens.get(1));
            assertEquals("</s>", tokens.get(2));
            assertEquals("<0x00>", tokens.get(3));
            assertEquals(512, gguf.getFloatArray("tokenizer.ggml.scores").length);
            assertInstanceOf(Float.class, gguf.getList("tokenizer.ggml.scores").get(0));
            assertInstanceOf(Long.class, gguf.getList("tokenizer.ggml.token_type").get(0));

            assertEquals(48, gguf.tensorInfos().size());
            for (GgufTensorInfo info : gguf.tensorInfos()) {
                assertEquals(GgmlType.F32, info.type(), info.name());
                assertEquals(0, info.offset() % 32, info.name());
            }
            Tensor embedding = gguf.tensor("token_embd.weight");
            assertEquals(DType.F32, embedding.dtype());
            assertEquals(Shape.of(512, 64), embedding.shape());
            assertEquals(Shape.of(64, 172), gguf.tensor("blk.0.ffn_down.weight").shape());
            assertEquals(Shape.of(32, 64), gguf.tensor("blk.0.attn_k.weight").shape());

            // Independent reference: the legacy .bin stores the same embedding right after its 28-byte header.
            Path bin = SharedModels.file("stories260K.bin");
            ByteBuffer binBytes = ByteBuffer.wrap(Files.readAllBytes(bin)).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < 512 * 64; i += 97) {
                assertEquals(binBytes.getFloat(28 + 4 * i), embedding.getFloat(i), "embedding value " + i);
            }
        }
    }

    @Test
    void readsVocabOnlyLlamaSpm() {
        Path file = SharedModels.file("ggml-vocab-llama-spm.gguf");
        try (Arena arena = Arena.ofConfined()) {
            GgufFile gguf = GgufFile.open(file, arena);
            assertEquals(0, gguf.tensorInfos().size());
            assertEquals("llama", gguf.getString("tokenizer.ggml.model"));
            assertEquals("default", gguf.getString("tokenizer.ggml.pre"));
            assertEquals(32000, gguf.getStringList("tokenizer.ggml.tokens").size());
            assertEquals(32000, gguf.getFloatArray("tokenizer.ggml.scores").length);
            assertEquals(32000, gguf.getIntArray("tokenizer.ggml.token_type").length);
            assertEquals(true, gguf.getBoolean("tokenizer.ggml.add_bos_token"));
            assertEquals(false, gguf.getBoolean("tokenizer.ggml.add_eos_token"));
        }
    }

    @Test
    void readsVocabOnlyGpt2() {
        Path file = SharedModels.file("ggml-vocab-gpt-2.gguf");
        try (Arena arena = Arena.ofConfined()) {
            GgufFile gguf = GgufFile.open(file, arena);
            assertEquals(0, gguf.tensorInfos().size());
            assertEquals("gpt2", gguf.getString("tokenizer.ggml.model"));
            assertEquals("gpt-2", gguf.getString("tokenizer.ggml.pre"));
            assertEquals(50257, gguf.getStringList("tokenizer.ggml.tokens").size());
            assertEquals(50000, gguf.getStringList("tokenizer.ggml.merges").size());
            assertEquals(50256, gguf.getInt("tokenizer.ggml.bos_token_id"));
            assertEquals(50256, gguf.getInt("tokenizer.ggml.eos_token_id"));
        }
    }

    @Test
    void gettersNameTheKeyWhenMissingOrMistyped() {
        Path file = SharedModels.file("stories260K.gguf");
        try (Arena arena = Arena.ofConfined()) {
            GgufFile gguf = GgufFile.open(file, arena);
            ModelFormatException missing = assertThrows(ModelFormatException.class, () -> gguf.getString("no.such.key"));
            assertTrue(missing.getMessage().contains("no.such.key"), missing.getMessage());
            assertTrue(missing.getMessage().contains(file.toString()), missing.getMessage());
            ModelFormatException mistyped = assertThrows(ModelFormatException.class, () -> gguf.getString("llama.block_count"));
            assertTrue(mistyped.getMessage().contains("llama.block_count"), mistyped.getMessage());
            assertTrue(mistyped.offset() > 0);
            assertTrue(gguf.optString("no.such.key").isEmpty());
            Map<String, Object> md = gguf.metadata();
            assertEquals("tokenizer.ggml.tokens", md.keySet().iterator().next()); // first entry of this file
            long previous = -1;
            for (String key : md.keySet()) { // iteration follows the file
                assertTrue(gguf.keyOffset(key) > previous, key);
                previous = gguf.keyOffset(key);
            }
            ModelFormatException noTensor = assertThrows(ModelFormatException.class, () -> gguf.tensor("nope.weight"));
            assertTrue(noTensor.getMessage().contains("nope.weight"));
        }
    }
}
