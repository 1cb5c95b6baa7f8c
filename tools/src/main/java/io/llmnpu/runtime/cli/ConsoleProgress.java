package io.llmnpu.runtime.cli;

import io.llmnpu.runtime.model.ProgressListener;
import java.io.PrintStream;

/** Draws progress on stderr: a bar redrawn in place on a terminal, one line per finished step otherwise. */
final class ConsoleProgress implements ProgressListener {
    private static final int WIDTH = 30;
    private final PrintStream out;
    private final boolean interactive;
    private String lastStage = "";
    private int lastPercent = -1;

    ConsoleProgress(PrintStream out, boolean interactive) {
        this.out = out;
        this.interactive = interactive;
    }

    static ConsoleProgress stderr() {
        return new ConsoleProgress(System.err, System.console() != null);
    }

    @Override
    public synchronized void progress(String stage, long done, long total) {
        int percent = total <= 0 ? 100 : (int) Math.min(100, done * 100 / total);
        if (stage.equals(lastStage) && percent == lastPercent) {
            return;
        }
        lastStage = stage;
        lastPercent = percent;
        if (interactive) {
            int filled = percent * WIDTH / 100;
            out.print("\r" + stage + " [" + "#".repeat(filled) + " ".repeat(WIDTH - filled) + "] " + percent + "%\u001b[K");
            if (percent == 100) {
                out.println();
            }
        } else if (percent == 100) {
            out.println(stage + ": done");
        }
        out.flush();
    }
}
