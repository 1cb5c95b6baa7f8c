package io.llmnpu.runtime.tokenizer;

import java.util.Arrays;

/**
 * GPT-2's reversible byte-to-character table: byte-level BPE vocabularies spell every byte as one
 * printable character, so that no piece contains whitespace or control characters. Bytes that are
 * printable Latin-1 ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves; the other 68 bytes, in
 * increasing order, become U+0100, U+0101, ... (so the space 0x20 is 'Ġ' U+0120).
 */
final class ByteLevelAlphabet {
    private static final int TABLE_END = 256 + 68;
    private final char[] charOfByte = new char[256];
    private final int[] byteOfChar = new int[TABLE_END];

    ByteLevelAlphabet() {
        Arrays.fill(byteOfChar, -1);
        int next = 256;
        for (int b = 0; b < 256; b++) {
            char c = standsForItself(b) ? (char) b : (char) next++;
            charOfByte[b] = c;
            byteOfChar[c] = b;
        }
    }

    private static boolean standsForItself(int b) {
        return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    }

    /** The character that spells {@code b}. */
    char charOf(byte b) {
        return charOfByte[b & 0xFF];
    }

    /** The byte spelled by {@code c}, or -1 if {@code c} is not in the alphabet. */
    int byteOf(int c) {
        return c >= 0 && c < TABLE_END ? byteOfChar[c] : -1;
    }

    /** Spells UTF-8 bytes in the alphabet, one character per byte. */
    String spell(byte[] bytes) {
        char[] chars = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            chars[i] = charOf(bytes[i]);
        }
        return new String(chars);
    }
}
