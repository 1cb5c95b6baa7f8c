package io.llmnpu.runtime.cli;

import io.llmnpu.runtime.engine.ForwardPass;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes the Gantt chart of a real engine run to a file. */
final class TraceChart {
    private TraceChart() {
    }

    static void write(Path file, ForwardPass.Result run, String what) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            Files.writeString(file, run.ganttSvg(what), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the Gantt chart " + file, e);
        }
    }
}
