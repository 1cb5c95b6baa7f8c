package io.llmnpu.runtime.tokenizer;

import io.llmnpu.runtime.model.SharedModels;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Encodes the prompts of llama2.c's own tests and compares with the ids it expects. */
class Llama2cTokenizerReaderTest {
    private static SentencePieceTokenizer llama2;

    @BeforeAll
    static void load() throws IOException {
        llama2 = Llama2cTokenizerReader.read(SharedModels.file("tokenizer.bin"), 32000);
    }

    /** Vectors from karpathy/llama2.c test.c (ids from Meta's SentencePiece tokenizer, BOS added). */
    static Stream<Arguments> llama2Vectors() {
        return Stream.of(
                Arguments.of("", new int[] {1}),
                Arguments.of("I believe the meaning of life is", new int[] {1, 306, 4658, 278, 6593, 310, 2834, 338}),
                Arguments.of("Simply put, the theory of relativity states that ",
                        new int[] {1, 3439, 17632, 1925, 29892, 278, 6368, 310, 14215, 537, 5922, 393, 29871}),
                Arguments.of("A brief message congratulating the team on the launch:\n\n        Hi everyone,\n\n        I just ",
                        new int[] {1, 319, 11473, 2643, 378, 629, 271, 18099, 278, 3815, 373, 278, 6826, 29901, 13, 13,
                                4706, 6324, 14332, 29892, 13, 13, 4706, 306, 925, 29871}),
                Arguments.of("Translate English to French:\n\n        sea otter => loutre de mer\n        peppermint => menthe poivrée\n        plush girafe => girafe peluche\n        cheese =>",
                        new int[] {1, 4103, 9632, 4223, 304, 5176, 29901, 13, 13, 4706, 7205, 4932, 357, 1149, 301, 449,
                                276, 316, 2778, 13, 4706, 1236, 407, 837, 524, 1149, 6042, 354, 772, 440, 29878, 1318, 13,
                                4706, 715, 1878, 330, 3055, 1725, 1149, 330, 3055, 1725, 4639, 28754, 13, 4706, 923, 968,
                                1149}));
    }

    @ParameterizedTest
    @MethodSource("llama2Vectors")
    void encodesLikeLlama2c(String prompt, int[] expected) {
        assertArrayEquals(expected, llama2.encode(prompt, true));
        assertEquals(prompt, llama2.decodeAll(llama2.encode(prompt, true)));
        assertEquals(prompt, llama2.decodeAll(llama2.encode(prompt, false)));
    }

    @Test
    void readsTheStories260kVocabulary() throws IOException {
        SentencePieceTokenizer tok512 = Llama2cTokenizerReader.read(SharedModels.file("tok512.bin"), 512);
        assertEquals(512, tok512.vocabSize());
        assertArrayEquals(new int[] {1, 403, 407, 261, 378}, tok512.encode("Once upon a time", true));
        assertEquals("Once upon a time", tok512.decodeAll(new int[] {1, 403, 407, 261, 378}));
    }

    @Test
    void knowsTheSpecialTokens() {
        assertEquals(32000, llama2.vocabSize());
        assertEquals(1, llama2.bos());
        assertEquals(2, llama2.eos());
        assertEquals(0, llama2.unknown());
        assertEquals("\n<s>\n", llama2.piece(1));
        assertEquals(TokenType.CONTROL, llama2.type(2));
        assertEquals(TokenType.BYTE, llama2.type(3 + 0x0A));
        assertEquals("sentencepiece-bpe", llama2.kind());
    }

    @Test
    void decodesLikeRunC() {
        // After BOS the leading space of a piece is dropped; byte tokens give their raw byte.
        assertArrayEquals(" believe".getBytes(), llama2.decode(306, 4658));
        assertArrayEquals("I".getBytes(), llama2.decode(1, 306));
        assertArrayEquals(new byte[] {(byte) 0xE4}, llama2.decode(306, 3 + 0xE4));
        assertArrayEquals(new byte[0], llama2.decode(306, 1));
    }
}
