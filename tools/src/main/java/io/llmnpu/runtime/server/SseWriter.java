package io.llmnpu.runtime.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * Writes server-sent events as the OpenAI API streams them: one {@code data: <json>} event per chunk,
 * then {@code data: [DONE]}. Every event is flushed at once. A failed write means the client has gone:
 * the writer remembers it, tells {@code onFailure}, and ignores later writes.
 */
final class SseWriter {
    private final OutputStream out;
    private final Runnable onFailure;
    private boolean failed;

    SseWriter(OutputStream out, Runnable onFailure) {
        this.out = out;
        this.onFailure = onFailure;
    }

    void event(JsonNode json) {
        try {
            write("data: " + ResponseJson.JSON.writeValueAsString(json) + "\n\n");
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    void done() {
        write("data: [DONE]\n\n");
    }

    boolean failed() {
        return failed;
    }

    private void write(String text) {
        if (failed) {
            return;
        }
        try {
            out.write(text.getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException | RuntimeException e) {
            failed = true;
            onFailure.run();
        }
    }
}
