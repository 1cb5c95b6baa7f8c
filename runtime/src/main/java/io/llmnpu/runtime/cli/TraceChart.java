package io.llmnpu.runtime.cli;

import io.llmnpu.runtime.engine.ForwardPass;
import io.llmnpu.scheduler.GanttSvg;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** Writes the Gantt chart of a real engine run: one lane per device, one bar per task as it really ran. */
final class TraceChart {
    private TraceChart() {
    }

    static void write(Path file, ForwardPass.Result run, String what) {
        String subtitle = String.format(Locale.ROOT, "%s, %s, %d tasks, %.1f ms%s", what, run.path(),
                run.trace().graph().size(), run.trace().seconds() * 1e3,
                run.failovers() > 0 ? ", after " + run.failovers() + " failover(s)" : "");
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            Files.writeString(file, new GanttSvg().render(run.trace().toSchedule(), subtitle), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the Gantt chart " + file, e);
        }
    }
}
