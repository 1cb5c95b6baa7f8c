package io.llmnpu.runtime.tokenizer;

/** The {@code <0xHH>} names SentencePiece gives its byte-fallback pieces. */
final class BytePieces {
    private BytePieces() {
    }

    /** The byte value a piece like {@code <0x0A>} stands for, or -1 if the piece is not one. */
    static int parse(String piece) {
        if (piece.length() != 6 || !piece.startsWith("<0x") || piece.charAt(5) != '>') {
            return -1;
        }
        int high = hexDigit(piece.charAt(3));
        int low = hexDigit(piece.charAt(4));
        return high < 0 || low < 0 ? -1 : high * 16 + low;
    }

    private static int hexDigit(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        return -1;
    }
}
