package io.llmnpu.runtime.cli;

import io.llmnpu.charts.SvgDocument;
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
        SvgDocument svg = new SvgDocument(WIDTH, height);
        svg.text(10, 22, title, "font-size", 16, "font-weight", "bold");
        int plot = PANEL - LABEL - 40;
        svg.colouredText(LABEL, 50, new Object[] {"latency, ms (", null, "time to first token", "#4e79a7", " + ", null,
                "decode", "#f28e2b", ")", null}, "font-weight", "bold");
        svg.text(PANEL + 80, 50, "energy per request, J", "font-weight", "bold");
        for (int i = 0; i < bars.size(); i++) {
            RequestSimulator.Estimate e = bars.get(i).estimate();
            int y = TOP + i * (BAR + GAP);
            svg.text(LABEL - 8, y + BAR / 2 + 4, bars.get(i).model() + ", " + e.configuration(), "text-anchor", "end");
            double ttft = plot * e.ttftSeconds() / maxSeconds;
            double decode = plot * (e.totalSeconds() - e.ttftSeconds()) / maxSeconds;
            svg.rect(String.format(Locale.ROOT, "TTFT %.1f ms", e.ttftSeconds() * 1e3), LABEL, y, ttft, BAR,
                    "fill", "#4e79a7");
            svg.rect(String.format(Locale.ROOT, "decode %.1f ms", (e.totalSeconds() - e.ttftSeconds()) * 1e3),
                    LABEL + ttft, y, decode, BAR, "fill", "#f28e2b");
            svg.text(LABEL + ttft + decode + 4, y + BAR / 2 + 4, String.format(Locale.ROOT, "%.0f", e.totalSeconds() * 1e3));
            if (!Double.isNaN(e.energyJoules())) {
                double w = plot * e.energyJoules() / maxJoules;
                svg.rect(String.format(Locale.ROOT, "%.2f J", e.energyJoules()), PANEL + 80, y, w, BAR, "fill", "#59a14f");
                svg.text(PANEL + 80 + w + 4, y + BAR / 2 + 4, String.format(Locale.ROOT, "%.2f", e.energyJoules()));
            }
        }
        return svg.toString();
    }
}
