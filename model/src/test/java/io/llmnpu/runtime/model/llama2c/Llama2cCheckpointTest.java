package io.llmnpu.runtime.model.llama2c;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.ModelFormat;
import io.llmnpu.runtime.model.ModelFormatException;
import io.llmnpu.runtime.model.SharedModels;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Llama2cCheckpointTest {
    private static final int EMBEDDING_BYTES = 512 * 64 * 4;

    @TempDir
    Path dir;

    private static byte[] legacy() throws IOException {
        return Files.readAllBytes(SharedModels.file("stories260K.bin"));
    }

    private static byte[] v1() throws IOException {
        return Files.readAllBytes(SharedModels.file("stories260K.v1.bin"));
    }

    private Path write(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    private static byte[] withInt(byte[] bytes, int offset, int value) {
        byte[] copy = bytes.clone();
        ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN).putInt(offset, value);
        return copy;
    }

    private static ModelFormatException rejected(Path file, long offset, String... parts) {
        try (Arena arena = Arena.ofConfined()) {
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> Llama2cCheckpoint.read(file, arena));
            assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
            for (String part : parts) {
                assertTrue(e.getMessage().contains(part), "message lacks \"" + part + "\": " + e.getMessage());
            }
            assertEquals(offset, e.offset(), e.getMessage());
            return e;
        }
    }

    @Test
    void legacyWithSeparateClassifier() throws IOException {
        byte[] bin = legacy();
        // A negative vocab_size says wcls follows freq_cis; append a copy of the embedding as wcls.
        byte[] unshared = Arrays.copyOf(withInt(bin, 20, -512), bin.length + EMBEDDING_BYTES);
        System.arraycopy(bin, 28, unshared, bin.length, EMBEDDING_BYTES);
        Path file = write("unshared.bin", unshared);
        try (Arena arena = Arena.ofConfined()) {
            Llama2cCheckpoint c = Llama2cCheckpoint.read(file, arena);
            assertFalse(c.sharedClassifier());
            assertEquals(512, c.config().vocabSize());
            Tensor output = c.weights().output();
            assertNotSame(c.weights().tokenEmbedding(), output);
            assertEquals("output.weight", output.name());
            assertEquals(bin.length, output.data().address() - c.weights().tokenEmbedding().data().address() + 28,
                    "wcls starts right after the original file's end");
            assertEquals(-1, output.data().mismatch(c.weights().tokenEmbedding().data()));
        }
    }

    @Test
    void v1WithSeparateClassifier() throws IOException {
        byte[] bin = v1();
        byte[] unshared = Arrays.copyOf(bin, bin.length + EMBEDDING_BYTES);
        unshared[36] = 0;
        int embeddingAt = 256 + 4 * (5 * 64 * 2 + 64); // after all rms_att, rms_ffn and rms_final
        System.arraycopy(bin, embeddingAt, unshared, bin.length, EMBEDDING_BYTES);
        try (Arena arena = Arena.ofConfined()) {
            Llama2cCheckpoint c = Llama2cCheckpoint.read(write("unshared.v1.bin", unshared), arena);
            assertFalse(c.sharedClassifier());
            assertEquals(-1, c.weights().output().data().mismatch(c.weights().tokenEmbedding().data()));
        }
    }

    @Test
    void truncatedAndOverlongFiles() throws IOException {
        byte[] bin = legacy();
        rejected(write("short.bin", Arrays.copyOf(bin, bin.length - 100)), bin.length - 100,
                "file is truncated", "describes 1056540 bytes but the file has 1056440");
        rejected(write("long.bin", Arrays.copyOf(bin, bin.length + 4)), bin.length,
                "4 unexpected bytes after the last tensor");
        rejected(write("tiny.bin", new byte[] {1, 2, 3}), 0, "too short");
        rejected(write("header.bin", Arrays.copyOf(bin, 20)), 20, "truncated", "needs 28 bytes");
        byte[] v1 = v1();
        rejected(write("short.v1.bin", Arrays.copyOf(v1, 200)), 200, "truncated", "needs 256 bytes");
        rejected(write("cut.v1.bin", Arrays.copyOf(v1, v1.length - 1)), v1.length - 1, "file is truncated");
    }

    @Test
    void implausibleHeaders() throws IOException {
        byte[] bin = legacy();
        rejected(write("negdim.bin", withInt(bin, 0, -64)), 0, "dim = -64 is outside");
        rejected(write("zerolayers.bin", withInt(bin, 8, 0)), 8, "n_layers = 0 is outside");
        rejected(write("heads.bin", withInt(bin, 12, 7)), 0, "dim 64 is not a multiple of n_heads 7");
        rejected(write("kv.bin", withInt(bin, 16, 3)), 12, "n_heads 8 is not a multiple of n_kv_heads 3");
        rejected(write("vocab.bin", withInt(bin, 20, Integer.MIN_VALUE)), 20, "vocab_size -2147483648 is out of range");
        rejected(write("huge.bin", withInt(withInt(bin, 4, 1 << 24), 8, 1 << 24)), 1056540, "file is truncated");
        rejected(write("oddhead.bin", withInt(withInt(bin, 0, 72), 12, 8)), 0, "head size 9");
    }

    @Test
    void versionedHeaders() throws IOException {
        byte[] v1 = v1();
        rejected(write("v2.bin", withInt(v1, 4, 2)), 4, "llama2.c version 2 (int8) checkpoints are not supported; convert to GGUF");
        rejected(write("v9.bin", withInt(v1, 4, 9)), 4, "unknown llama2.c checkpoint version 9");
        byte[] flag = v1.clone();
        flag[36] = 7;
        rejected(write("flag.bin", flag), 36, "shared_classifier flag is 7");
        rejected(write("negvocab.v1.bin", withInt(v1, 28, -512)), 28, "vocab_size = -512 is outside");
    }

    @Test
    void formatDetectionRejectsGarbage() throws IOException {
        Path garbage = write("garbage.bin", "this is not a model file at all".getBytes());
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelFormat.detect(garbage));
        assertTrue(e.getMessage().contains("unrecognized model file"), e.getMessage());
        assertTrue(e.getMessage().startsWith(garbage.toString()));
    }
}
