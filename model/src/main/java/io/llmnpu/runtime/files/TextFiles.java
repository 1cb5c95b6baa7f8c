package io.llmnpu.runtime.files;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads text files users hand to llmnpu (calibration and evaluation texts, calibration files) with errors that say what is wrong. */
public final class TextFiles {
    private TextFiles() {
    }

    /**
     * The content of {@code file}, which must be UTF-8.
     *
     * @param what what the file is for, for messages (e.g. "calibration text")
     * @throws IOException naming the file: missing, a folder, unreadable, or not UTF-8 (with the
     *                     offset of the first bad byte)
     */
    public static String readUtf8(Path file, String what) throws IOException {
        if (Files.isDirectory(file)) {
            throw new IOException("the " + what + " " + file + " is a folder, not a file");
        }
        if (!Files.exists(file)) {
            throw new IOException("the " + what + " " + file + " does not exist");
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new IOException("cannot read the " + what + " " + file + ": " + AtomicFiles.reason(e), e);
        }
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length); // UTF-8 never gives more chars than bytes
        CoderResult result = utf8.decode(in, out, true);
        if (result.isUnderflow()) {
            result = utf8.flush(out);
        }
        if (result.isError()) {
            throw new IOException("the " + what + " " + file + " is not UTF-8 text: invalid byte 0x"
                    + String.format("%02X", bytes[in.position()] & 0xff) + " at offset " + in.position()
                    + "; convert it to UTF-8 (e.g. iconv -f latin1 -t utf-8)");
        }
        return out.flip().toString();
    }
}
