package io.llmnpu.runtime.bench;

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
        StringBuilder body = new StringBuilder();
        int y = 48;
        for (List<BenchResult> panel : panels.values()) {
            y = panel(body, panel, models, y);
        }
        int height = y + 16;
        StringBuilder svg = new StringBuilder();
        svg.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        svg.append(String.format(Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                        + "font-family=\"sans-serif\" font-size=\"12\">%n", WIDTH, height, WIDTH, height));
        svg.append(String.format(Locale.ROOT, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>%n", WIDTH, height));
        svg.append(String.format(Locale.ROOT, "<text x=\"16\" y=\"28\" font-size=\"16\" font-weight=\"bold\">%s</text>%n",
                escape("llmnpu bench: tokens/s (mean ± stddev), " + report.machine().getOrDefault("cpu", "")
                        + ", " + report.machine().getOrDefault("cores", "?") + " cores, "
                        + report.started().truncatedTo(ChronoUnit.SECONDS))));
        svg.append(body);
        svg.append("</svg>\n");
        return svg.toString();
    }

    private static String modelOf(BenchResult r) {
        return r.model().name() + " " + r.model().type();
    }

    private static int panel(StringBuilder out, List<BenchResult> rows, List<String> models, int top) {
        String test = rows.getFirst().test();
        String model = modelOf(rows.getFirst());
        double max = 0;
        for (BenchResult r : rows) {
            max = Math.max(max, r.meanTokensPerSecond() + r.stddevTokensPerSecond());
        }
        double scaleMax = niceCeiling(max);
        out.append(String.format(Locale.ROOT, "<g class=\"panel\" id=\"panel-%d\">%n", top));
        out.append(String.format(Locale.ROOT, "<text x=\"16\" y=\"%d\" font-size=\"14\" font-weight=\"bold\">%s</text>%n",
                top + 20, escape(model + ": " + test + (test.startsWith("pp") ? " (prefill)" : " (decode)"))));
        int y = top + PANEL_HEADER - 10;
        for (BenchResult r : rows) {
            double mean = r.meanTokensPerSecond();
            double sd = r.stddevTokensPerSecond();
            double w = scaleMax == 0 ? 0 : mean / scaleMax * BAR_AREA;
            String colour = COLOURS[models.indexOf(model) % COLOURS.length];
            String label = String.format(Locale.ROOT, "%s, %d thread%s%s", r.backend(), r.threads(), r.threads() == 1 ? "" : "s",
                    r.chunk() == 0 ? "" : ", chunk " + r.chunk());
            out.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>%n",
                    LABEL_WIDTH - 8, y + BAR_HEIGHT - 5, escape(label)));
            out.append(String.format(Locale.ROOT,
                    "<rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>%s</title></rect>%n",
                    LABEL_WIDTH, y, w, BAR_HEIGHT, colour,
                    escape(String.format(Locale.ROOT, "%s %s, %s: %.2f ± %.2f tok/s", model, test, label, mean, sd))));
            if (sd > 0 && scaleMax > 0) {
                double lo = Math.max(0, mean - sd) / scaleMax * BAR_AREA + LABEL_WIDTH;
                double hi = (mean + sd) / scaleMax * BAR_AREA + LABEL_WIDTH;
                int mid = y + BAR_HEIGHT / 2;
                out.append(String.format(Locale.ROOT,
                        "<path d=\"M%.1f %d H%.1f M%.1f %d V%d M%.1f %d V%d\" stroke=\"#333333\" fill=\"none\"/>%n",
                        lo, mid, hi, lo, mid - 4, mid + 4, hi, mid - 4, mid + 4));
            }
            double textX = LABEL_WIDTH + Math.max(w, scaleMax == 0 ? 0 : (mean + sd) / scaleMax * BAR_AREA) + 6;
            out.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\">%.2f</text>%n", textX, y + BAR_HEIGHT - 5, mean));
            y += ROW_HEIGHT;
        }
        // Axis with five ticks.
        int axisY = y + 2;
        out.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999999\"/>%n",
                LABEL_WIDTH, axisY, LABEL_WIDTH + BAR_AREA, axisY));
        for (int i = 0; i <= 5; i++) {
            double x = LABEL_WIDTH + BAR_AREA * i / 5.0;
            out.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#999999\"/>%n",
                    x, axisY, x, axisY + 4));
            out.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"10\">%s</text>%n",
                    x, axisY + 15, tick(scaleMax * i / 5)));
        }
        out.append("</g>\n");
        return axisY + AXIS_HEIGHT;
    }

    /** The smallest of 1, 2, 2.5, 5 times a power of ten that is at least {@code v}. */
    static double niceCeiling(double v) {
        if (!(v > 0)) {
            return 1;
        }
        double magnitude = Math.pow(10, Math.floor(Math.log10(v)));
        for (double step : new double[] {1, 2, 2.5, 5, 10}) {
            if (step * magnitude >= v) {
                return step * magnitude;
            }
        }
        return 10 * magnitude;
    }

    private static String tick(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : String.format(Locale.ROOT, "%.1f", v);
    }

    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
