package io.llmnpu.runtime.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Turns a stream of byte chunks (one per token) into text, holding back the bytes of a character
 * that spans tokens until it is complete, so streamed output is always valid UTF-8. Malformed bytes
 * become U+FFFD. Not thread-safe: one decoder per stream.
 */
public final class Utf8StreamDecoder {
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE)
            .onUnmappableCharacter(CodingErrorAction.REPLACE);
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

    /** Adds bytes and returns the text of every character they complete. */
    public String push(byte[] bytes) {
        pending.writeBytes(bytes);
        ByteBuffer in = ByteBuffer.wrap(pending.toByteArray());
        CharBuffer out = CharBuffer.allocate(in.remaining() + 1);
        CoderResult result = decoder.decode(in, out, false);
        if (result.isError()) {
            throw new IllegalStateException("UTF-8 decoder reported " + result);
        }
        pending.reset();
        pending.write(in.array(), in.position(), in.remaining());
        out.flip();
        return out.toString();
    }

    /** Ends the stream: incomplete trailing bytes become U+FFFD. */
    public String flush() {
        ByteBuffer in = ByteBuffer.wrap(pending.toByteArray());
        CharBuffer out = CharBuffer.allocate(in.remaining() + 2);
        decoder.decode(in, out, true);
        decoder.flush(out);
        decoder.reset();
        pending.reset();
        out.flip();
        return out.toString();
    }
}
