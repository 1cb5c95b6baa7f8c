package io.llmnpu.runtime.cli;

import io.llmnpu.scheduler.RequestSimulator;
import java.util.List;
import java.util.Locale;

/**
 * Draws simulated requests as two bar charts side by side: latency (time to first token, then decode,
 * stacked) and energy, one bar per model and configuration.
 */
final class RequestChart {
    private static final int WIDTH = 1100;
    private static final int PANEL = 500;
    private static final int BAR = 26;
    private static final int GAP = 8;
    private static final int TOP = 70;
    private static final int LABEL = 230;

    record Bar(String model, RequestSimulator.Estimate estimate) {
    }

    private RequestChart() {
    }

    static String render(List<Bar> bars, String title) {
        int height = TOP + bars.size() * (BAR + GAP) + 60;
        double maxSeconds = bars.stream().mapToDouble(b -> b.estimate().totalSeconds()).max().orElse(1);
        double maxJoules = bars.stream().mapToDouble(b -> b.estimate().energyJoules()).filter(v -> !Double.isNaN(v))
                .max().orElse(1);
        StringBuilder svg = new StringBuilder();
        svg.append(String.format(Locale.ROOT, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>%n<svg xmlns=\"http://www.w3.org/2000/svg\" "
                + "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">%n",
                WIDTH, height, WIDTH, height));
        svg.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"22\" font-size=\"16\" font-weight=\"bold\">%s</text>%n", escape(title)));
        int plot = PANEL - LABEL - 40;
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"50\" font-weight=\"bold\">latency, ms "
                + "(<tspan fill=\"#4e79a7\">time to first token</tspan> + <tspan fill=\"#f28e2b\">decode</tspan>)</text>%n", LABEL));
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"50\" font-weight=\"bold\">energy per request, J</text>%n",
                PANEL + 80));
        for (int i = 0; i < bars.size(); i++) {
            RequestSimulator.Estimate e = bars.get(i).estimate();
            int y = TOP + i * (BAR + GAP);
            svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s, %s</text>%n", LABEL - 8,
                    y + BAR / 2 + 4, escape(bars.get(i).model()), escape(e.configuration())));
            double ttft = plot * e.ttftSeconds() / maxSeconds;
            double decode = plot * (e.totalSeconds() - e.ttftSeconds()) / maxSeconds;
            svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#4e79a7\">"
                    + "<title>TTFT %.1f ms</title></rect>%n", LABEL, y, ttft, BAR, e.ttftSeconds() * 1e3));
            svg.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#f28e2b\">"
                    + "<title>decode %.1f ms</title></rect>%n", LABEL + ttft, y, decode, BAR, (e.totalSeconds() - e.ttftSeconds()) * 1e3));
            svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\">%.0f</text>%n", LABEL + ttft + decode + 4,
                    y + BAR / 2 + 4, e.totalSeconds() * 1e3));
            if (!Double.isNaN(e.energyJoules())) {
                double w = plot * e.energyJoules() / maxJoules;
                svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#59a14f\">"
                        + "<title>%.2f J</title></rect>%n", PANEL + 80, y, w, BAR, e.energyJoules()));
                svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\">%.2f</text>%n", PANEL + 80 + w + 4,
                        y + BAR / 2 + 4, e.energyJoules()));
            }
        }
        svg.append("</svg>\n");
        return svg.toString();
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
