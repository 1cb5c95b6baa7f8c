package io.llmnpu.runtime.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The results as a Markdown table in llama-bench's layout, plus a line of peak memory per model. */
public final class BenchTable {
    private static final String[] HEADER = {"model", "type", "size", "params", "backend", "threads", "chunk", "test", "t/s",
        "% of bound"};
    /** Columns aligned right (numbers), as llama-bench does. */
    private static final boolean[] RIGHT = {false, false, true, true, false, true, true, true, true, true};

    private BenchTable() {
    }

    public static String render(BenchReport report) {
        List<String[]> rows = new ArrayList<>();
        for (BenchResult r : report.results()) {
            rows.add(new String[] {
                r.model().name(), r.model().type(), gib(r.model().sizeBytes()), billions(r.model().parameters()),
                r.backend(), Integer.toString(r.threads()), r.chunk() == 0 ? "-" : Integer.toString(r.chunk()),
                r.test(), String.format(Locale.ROOT, "%.2f ± %.2f", r.meanTokensPerSecond(), r.stddevTokensPerSecond()),
                Double.isNaN(report.percentOfBound(r)) ? "-" : String.format(Locale.ROOT, "%.1f%%", report.percentOfBound(r))});
        }
        int[] width = new int[HEADER.length];
        for (int i = 0; i < HEADER.length; i++) {
            width[i] = HEADER[i].length();
            for (String[] row : rows) {
                width[i] = Math.max(width[i], row[i].length());
            }
        }
        StringBuilder out = new StringBuilder();
        line(out, HEADER, width);
        out.append('|');
        for (int i = 0; i < HEADER.length; i++) {
            out.append(' ').append("-".repeat(width[i] - 1)).append(RIGHT[i] ? ':' : '-').append(" |");
        }
        out.append('\n');
        for (String[] row : rows) {
            line(out, row, width);
        }
        report.bandwidth().forEach((threads, bytesPerSecond) -> out.append(String.format(Locale.ROOT,
                "%nmemory read bandwidth, %d thread%s: %.1f GB/s", threads, threads == 1 ? "" : "s", bytesPerSecond / 1e9)));
        if (!report.bandwidth().isEmpty()) {
            out.append(String.format(Locale.ROOT, "%n(%% of bound: decode speed over bandwidth / bytes read per token)"));
        }
        report.memory().forEach((model, peak) -> {
            out.append(String.format(Locale.ROOT, "%npeak memory %s: RSS %s%s, heap %s",
                    model, peak.rssBytes() < 0 ? "n/a" : mib(peak.rssBytes()), peak.rssReset() ? "" : " (whole process)",
                    mib(peak.heapBytes())));
            PeakMemory.Resident end = peak.atEnd();
            if (end != null && end.anonymousBytes() >= 0 && end.fileBytes() >= 0) {
                out.append(String.format(Locale.ROOT, "%n  resident after the last test: anonymous %s (Java heap committed %s),"
                                + " files %s (model file %s)", mib(end.anonymousBytes()), mib(end.heapCommittedBytes()),
                        mib(end.fileBytes()), end.modelFileBytes() < 0 ? "n/a" : mib(end.modelFileBytes())));
            }
        });
        out.append('\n');
        return out.toString();
    }

    private static void line(StringBuilder out, String[] cells, int[] width) {
        out.append('|');
        for (int i = 0; i < cells.length; i++) {
            String pad = " ".repeat(width[i] - cells[i].length());
            out.append(' ').append(RIGHT[i] ? pad + cells[i] : cells[i] + pad).append(" |");
        }
        out.append('\n');
    }

    static String gib(long bytes) {
        return bytes >= 1L << 30
                ? String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30))
                : mib(bytes);
    }

    static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.2f MiB", bytes / (double) (1L << 20));
    }

    static String billions(long n) {
        return n >= 1_000_000_000L
                ? String.format(Locale.ROOT, "%.2f B", n / 1e9)
                : String.format(Locale.ROOT, "%.2f M", n / 1e6);
    }
}
