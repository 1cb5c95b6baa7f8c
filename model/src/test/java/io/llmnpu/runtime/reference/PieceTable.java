package io.llmnpu.runtime.reference;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The id-to-bytes table of a llama2.c tokenizer {@code .bin}, with run.c's decoding rules, so that
 * reference tests turn ids into text without the engine's tokenizer.
 */
public final class PieceTable {

    private static final int BOS = 1;
    private static final Pattern BYTE_PIECE = Pattern.compile("<0x([0-9A-Fa-f]{2})>");

    private final byte[][] pieces;

    public PieceTable(Path tokenizerBin, int vocabSize) throws IOException {
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(tokenizerBin)).order(ByteOrder.LITTLE_ENDIAN);
        in.getInt(); // max_token_length
        pieces = new byte[vocabSize][];
        for (int id = 0; id < vocabSize; id++) {
            in.getFloat(); // merge score, not needed for decoding
            byte[] piece = new byte[in.getInt()];
            in.get(piece);
            pieces[id] = piece;
        }
    }

    /** The bytes run.c prints for {@code token} after {@code previous} (decode + safe_printf). */
    public byte[] decode(int previous, int token) {
        byte[] piece = pieces[token];
        if (previous == BOS && piece.length > 0 && piece[0] == ' ') {
            piece = Arrays.copyOfRange(piece, 1, piece.length);
        }
        Matcher m = BYTE_PIECE.matcher(new String(piece, StandardCharsets.ISO_8859_1));
        if (m.matches()) {
            piece = new byte[] {(byte) Integer.parseInt(m.group(1), 16)};
        }
        // safe_printf drops lone bytes that are neither printable ASCII nor whitespace.
        if (piece.length == 1) {
            int b = piece[0] & 0xFF;
            boolean printable = b >= 0x20 && b <= 0x7E;
            boolean space = b == ' ' || (b >= 0x09 && b <= 0x0D);
            if (!printable && !space) {
                return new byte[0];
            }
        }
        return piece;
    }

    /** Text of a generated sequence that followed {@code first} (the BOS that started it). */
    public String text(int first, int[] generated) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int previous = first;
        for (int token : generated) {
            out.writeBytes(decode(previous, token));
            previous = token;
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
