package io.llmnpu.runtime.cli;

import io.llmnpu.runtime.engine.ForwardPass;
import io.llmnpu.runtime.files.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** Writes the Gantt chart of a real engine run to a file. */
final class TraceChart {
    private TraceChart() {
    }

    static void write(Path file, ForwardPass.Result run, String what) {
        try {
            AtomicFiles.writeString(file, run.ganttSvg(what));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the Gantt chart " + file, e);
        }
    }
}
