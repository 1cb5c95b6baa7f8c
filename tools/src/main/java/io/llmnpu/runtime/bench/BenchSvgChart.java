package io.llmnpu.runtime.bench;

import io.llmnpu.charts.SvgDocument;
import io.llmnpu.charts.Ticks;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The results as a horizontal bar chart in SVG: one panel per model and test ({@code pp512},
 * {@code tg128}, ...), each with its own scale, since prefill and decode rates, and the rates of
 * models of different sizes, differ by orders of magnitude; one bar per configuration (backend,
 * threads, chunk size) with the mean tokens/s, a whisker of one standard deviation, and the value.
 */
public final class BenchSvgChart {
    private static final int WIDTH = 960;
    private static final int LABEL_WIDTH = 300;
    private static final int BAR_AREA = 540;
    private static final int BAR_HEIGHT = 18;
    private static final int ROW_HEIGHT = 26;
    private static final int PANEL_HEADER = 44;
    private static final int AXIS_HEIGHT = 22;
    private static final String[] COLOURS = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948"};

    private BenchSvgChart() {
    }

    public static String render(BenchReport report) {
        Map<String, List<BenchResult>> panels = new LinkedHashMap<>();
        for (BenchResult r : report.results()) {
            panels.computeIfAbsent(modelOf(r) + "\u0000" + r.test(), t -> new ArrayList<>()).add(r);
        }
        List<String> models = report.results().stream().map(BenchSvgChart::modelOf).distinct().toList();
        int height = 48 + 16;
        for (List<BenchResult> panel : panels.values()) {
            height += panelHeight(panel);
        }
        SvgDocument svg = new SvgDocument(WIDTH, height).background("#ffffff");
        svg.text(16, 28, "llmnpu bench: tokens/s (mean ± stddev), " + report.machine().getOrDefault("cpu", "")
                        + ", " + report.machine().getOrDefault("cores", "?") + " cores, "
                        + report.started().truncatedTo(ChronoUnit.SECONDS), "font-size", 16, "font-weight", "bold");
        int y = 48;
        for (List<BenchResult> panel : panels.values()) {
            panel(svg, panel, models, y);
            y += panelHeight(panel);
        }
        return svg.toString();
    }

    private static String modelOf(BenchResult r) {
        return r.model().name() + " " + r.model().type();
    }

    private static int panelHeight(List<BenchResult> rows) {
        return PANEL_HEADER - 10 + rows.size() * ROW_HEIGHT + 2 + AXIS_HEIGHT;
    }

    private static void panel(SvgDocument svg, List<BenchResult> rows, List<String> models, int top) {
        String test = rows.getFirst().test();
        String model = modelOf(rows.getFirst());
        double max = 0;
        for (BenchResult r : rows) {
            max = Math.max(max, r.meanTokensPerSecond() + r.stddevTokensPerSecond());
        }
        double scaleMax = Ticks.niceCeiling(max);
        svg.group("class", "panel", "id", "panel-" + top);
        svg.text(16, top + 20, model + ": " + test + (test.startsWith("pp") ? " (prefill)" : " (decode)"),
                "font-size", 14, "font-weight", "bold");
        int y = top + PANEL_HEADER - 10;
        for (BenchResult r : rows) {
            double mean = r.meanTokensPerSecond();
            double sd = r.stddevTokensPerSecond();
            double w = mean / scaleMax * BAR_AREA;
            String colour = COLOURS[models.indexOf(model) % COLOURS.length];
            String label = String.format(Locale.ROOT, "%s, %d thread%s%s", r.backend(), r.threads(), r.threads() == 1 ? "" : "s",
                    r.chunk() == 0 ? "" : ", chunk " + r.chunk());
            svg.text(LABEL_WIDTH - 8, y + BAR_HEIGHT - 5, label, "text-anchor", "end");
            svg.rect(String.format(Locale.ROOT, "%s %s, %s: %.2f ± %.2f tok/s", model, test, label, mean, sd),
                    LABEL_WIDTH, y, w, BAR_HEIGHT, "class", "bar", "fill", colour);
            if (sd > 0) {
                double lo = Math.max(0, mean - sd) / scaleMax * BAR_AREA + LABEL_WIDTH;
                double hi = (mean + sd) / scaleMax * BAR_AREA + LABEL_WIDTH;
                int mid = y + BAR_HEIGHT / 2;
                svg.path(String.format(Locale.ROOT, "M%.1f %d H%.1f M%.1f %d V%d M%.1f %d V%d",
                        lo, mid, hi, lo, mid - 4, mid + 4, hi, mid - 4, mid + 4), "stroke", "#333333", "fill", "none");
            }
            double textX = LABEL_WIDTH + Math.max(w, (mean + sd) / scaleMax * BAR_AREA) + 6;
            svg.text(textX, y + BAR_HEIGHT - 5, String.format(Locale.ROOT, "%.2f", mean));
            y += ROW_HEIGHT;
        }
        // Axis with five ticks.
        int axisY = y + 2;
        svg.line(LABEL_WIDTH, axisY, LABEL_WIDTH + BAR_AREA, axisY, "stroke", "#999999");
        for (int i = 0; i <= 5; i++) {
            double x = LABEL_WIDTH + BAR_AREA * i / 5.0;
            svg.line(x, axisY, x, axisY + 4, "stroke", "#999999");
            svg.text(x, axisY + 15, Ticks.label(scaleMax * i / 5, 1), "text-anchor", "middle", "font-size", 10);
        }
        svg.endGroup();
    }
}
