package io.llmnpu.runtime.tokenizer;

import io.llmnpu.runtime.model.ModelFormatException;
import io.llmnpu.runtime.model.SharedModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Damaged and hostile llama2.c tokenizer files must fail with a clear format error, never crash the JVM. */
class Llama2cTokenizerHostileFileTest {
    @TempDir
    Path dir;

    private Path write(byte[] content) throws IOException {
        Path file = Files.createTempFile(dir, "tokenizer", ".bin");
        Files.write(file, content);
        return file;
    }

    /** A well-formed file: max length, then the given pieces with score 0. */
    private static ByteBuffer validFile(String... pieces) {
        ByteBuffer out = ByteBuffer.allocate(1024).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(16);
        for (String piece : pieces) {
            byte[] utf8 = piece.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            out.putFloat(0f).putInt(utf8.length).put(utf8);
        }
        return out;
    }

    private static byte[] bytesOf(ByteBuffer buffer) {
        return Arrays.copyOf(buffer.array(), buffer.position());
    }

    @Test
    void readsAWellFormedMinimalFile() throws IOException {
        Path file = write(bytesOf(validFile("<unk>", "\n<s>\n", "\n</s>\n", " ", "a", " a")));
        SentencePieceTokenizer tokenizer = Llama2cTokenizerReader.read(file, 6);
        assertEquals(6, tokenizer.vocabSize());
        assertEquals(" a", tokenizer.piece(5));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 3, 4, 10, 27})
    void rejectsTruncatedFiles(int length) throws IOException {
        byte[] full = bytesOf(validFile("<unk>", "\n<s>\n", "\n</s>\n", " ", "a", " a"));
        Path file = write(Arrays.copyOf(full, length));
        assertThrows(ModelFormatException.class, () -> Llama2cTokenizerReader.read(file, 6));
    }

    @Test
    void rejectsATruncatedRealFileAndNamesTheOffset() throws IOException {
        byte[] real = Files.readAllBytes(SharedModels.file("tok512.bin"));
        Path file = write(Arrays.copyOf(real, real.length - 1));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Llama2cTokenizerReader.read(file, 512));
        assertEquals(file, e.file());
        assertTrue(e.offset() > 0 && e.offset() < real.length, "offset " + e.offset());
        assertTrue(e.getMessage().contains("token 511"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(ints = {-1, Integer.MIN_VALUE, Integer.MAX_VALUE, 1 << 20})
    void rejectsPieceLengthsThatAreNegativeOrBeyondTheFile(int badLength) throws IOException {
        ByteBuffer content = validFile("<unk>", "\n<s>\n");
        int lengthOffset = content.position() + 4;
        content.putFloat(0f).putInt(badLength).put(new byte[40]);
        Path file = write(bytesOf(content));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Llama2cTokenizerReader.read(file, 3));
        assertEquals(lengthOffset, e.offset());
        assertTrue(e.getMessage().contains("token 2"), e.getMessage());
    }

    @Test
    void rejectsAHugeVocabularySizeWithoutAllocatingForIt() throws IOException {
        Path file = write(bytesOf(validFile("<unk>", "\n<s>\n", "\n</s>\n")));
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> Llama2cTokenizerReader.read(file, Integer.MAX_VALUE));
        assertTrue(e.getMessage().contains("does this tokenizer belong to the model"), e.getMessage());
    }

    @Test
    void rejectsANegativeMaxTokenLength() throws IOException {
        ByteBuffer content = validFile("<unk>", "\n<s>\n", "\n</s>\n");
        content.putInt(0, -5);
        Path file = write(bytesOf(content));
        assertThrows(ModelFormatException.class, () -> Llama2cTokenizerReader.read(file, 3));
    }

    @Test
    void rejectsPiecesThatAreNotUtf8() throws IOException {
        ByteBuffer content = validFile("<unk>", "\n<s>\n");
        content.putFloat(0f).putInt(2).put((byte) 0xC3).put((byte) 0x28);
        Path file = write(bytesOf(content));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Llama2cTokenizerReader.read(file, 3));
        assertTrue(e.getMessage().contains("UTF-8"), e.getMessage());
    }

    @Test
    void rejectsAVocabularySizeBelowTheSpecialTokens() throws IOException {
        Path file = write(bytesOf(validFile("<unk>", "\n<s>\n", "\n</s>\n")));
        assertThrows(IllegalArgumentException.class, () -> Llama2cTokenizerReader.read(file, 2));
    }

    @Test
    void randomCorruptionsOfARealFileFailCleanlyOrLoad() throws IOException {
        byte[] real = Files.readAllBytes(SharedModels.file("tok512.bin"));
        Random random = new Random(77);
        for (int round = 0; round < 200; round++) {
            byte[] damaged = real.clone();
            for (int k = 0; k < 1 + random.nextInt(8); k++) {
                damaged[random.nextInt(damaged.length)] = (byte) random.nextInt(256);
            }
            Path file = write(damaged);
            try {
                Tokenizer tokenizer = Llama2cTokenizerReader.read(file, 512);
                tokenizer.decodeAll(tokenizer.encode("Once upon a time", true));
            } catch (ModelFormatException expected) {
                // A clean, explained rejection is fine.
            }
            Files.delete(file);
        }
    }
}
