package io.llmnpu.runtime.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

class Utf8StreamDecoderTest {

    private static byte[] bytes(int... values) {
        byte[] out = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (byte) values[i];
        }
        return out;
    }

    @Test
    void passesAsciiThrough() {
        Utf8StreamDecoder decoder = new Utf8StreamDecoder();
        assertEquals("Hello", decoder.push("Hello".getBytes(StandardCharsets.US_ASCII)));
        assertEquals(" world", decoder.push(" world".getBytes(StandardCharsets.US_ASCII)));
        assertEquals("", decoder.flush());
    }

    @Test
    void holdsBackATwoByteCharacterUntilItIsComplete() {
        Utf8StreamDecoder decoder = new Utf8StreamDecoder();
        assertEquals("a", decoder.push(bytes('a', 0xC3)));
        assertEquals("\u00E9b", decoder.push(bytes(0xA9, 'b')));
    }

    @Test
    void joinsAFourByteCharacterSentOneByteAtATime() {
        Utf8StreamDecoder decoder = new Utf8StreamDecoder();
        assertEquals("", decoder.push(bytes(0xF0)));
        assertEquals("", decoder.push(bytes(0x9F)));
        assertEquals("", decoder.push(bytes(0x98)));
        assertEquals("\uD83D\uDE00", decoder.push(bytes(0x80)));
        assertEquals("", decoder.flush());
    }

    @Test
    void emptyChunksChangeNothing() {
        Utf8StreamDecoder decoder = new Utf8StreamDecoder();
        assertEquals("", decoder.push(new byte[0]));
        assertEquals("", decoder.push(bytes(0xE4, 0xB8)));
        assertEquals("", decoder.push(new byte[0]));
        assertEquals("\u4E2D", decoder.push(bytes(0xAD)));
    }

    @Test
    void replacesBytesThatCannotStartACharacter() {
        Utf8StreamDecoder decoder = new Utf8StreamDecoder();
        assertEquals("\uFFFDx", decoder.push(bytes(0xFF, 'x')));
        assertEquals("\uFFFDy", decoder.push(bytes(0x80, 'y')));
    }

    @Test
    void replacesACharacterCutShortByTheNextOne() {
        Utf8StreamDecoder decoder = new Utf8StreamDecoder();
        assertEquals("", decoder.push(bytes(0xE4, 0xB8)));
        assertEquals("\uFFFDa", decoder.push(bytes('a')));
    }

    @ParameterizedTest
    @ValueSource(strings = {"ED A0 80", "C0 AF", "F4 90 80 80"})
    void replacesSurrogatesOverlongFormsAndCodePointsBeyondUnicode(String hex) {
        byte[] input = bytes(Arrays.stream(hex.split(" ")).mapToInt(h -> Integer.parseInt(h, 16)).toArray());
        Utf8StreamDecoder decoder = new Utf8StreamDecoder();
        String text = decoder.push(input) + decoder.flush();
        assertFalse(text.isEmpty());
        assertEquals("", text.replace("\uFFFD", ""), "only replacement characters for " + hex);
    }

    @Test
    void flushReplacesAnUnfinishedCharacterAndResets() {
        Utf8StreamDecoder decoder = new Utf8StreamDecoder();
        assertEquals("", decoder.push(bytes(0xF0, 0x9F)));
        assertEquals("\uFFFD", decoder.flush());
        assertEquals("\u00E9", decoder.push(bytes(0xC3, 0xA9)));
    }

    @Test
    void randomSplitsOfValidTextGiveTheTextBack() {
        Random random = new Random(2024);
        RandomText texts = new RandomText(2024, true);
        for (int round = 0; round < 500; round++) {
            String text = texts.next(30);
            byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
            Utf8StreamDecoder decoder = new Utf8StreamDecoder();
            StringBuilder out = new StringBuilder();
            int pos = 0;
            while (pos < utf8.length) {
                int n = Math.min(utf8.length - pos, random.nextInt(5));
                String piece = decoder.push(Arrays.copyOfRange(utf8, pos, pos + n));
                assertFalse(piece.contains("\uFFFD"), "no replacement for valid input");
                out.append(piece);
                pos += n;
            }
            out.append(decoder.flush());
            assertEquals(text, out.toString());
        }
    }
}
