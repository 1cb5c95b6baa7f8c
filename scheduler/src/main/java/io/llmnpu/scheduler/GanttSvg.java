package io.llmnpu.scheduler;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/**
 * Draws a schedule as an SVG Gantt chart: one lane per device, one {@code <rect>} per task colored
 * by kind with the task, its device and times in a {@code <title>} tooltip, a time axis in
 * milliseconds, and the makespan and NPU bubble share in the header. Only tasks are drawn as
 * rectangles (lanes are lines, the legend uses circles), so the chart can be checked by counting.
 */
public final class GanttSvg {
    private static final int WIDTH = 1200;
    static final int LEFT = 160;
    private static final int RIGHT = 30;
    private static final int TOP = 64;
    private static final int LANE = 30;
    private static final int LANE_GAP = 10;
    private static final double MIN_TASK_WIDTH = 0.4;   // px, so the shortest tasks stay visible

    /** The chart of {@code schedule}; {@code subtitle} (may be empty) goes under the header line. */
    public String render(Schedule schedule, String subtitle) {
        CostTable costs = schedule.costs();
        int devices = costs.deviceCount();
        double makespan = schedule.makespan();
        double plotWidth = WIDTH - LEFT - RIGHT;
        double scale = makespan > 0 ? plotWidth / makespan : 0;
        int lanesBottom = TOP + devices * (LANE + LANE_GAP);
        int height = lanesBottom + 80;

        StringBuilder svg = new StringBuilder(256 * schedule.entries().size() + 4096);
        svg.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        svg.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">%n", WIDTH, height, WIDTH, height));
        String bubble = schedule.npuBubbleFraction().isPresent()
                ? String.format(Locale.ROOT, "%.2f%%", 100 * schedule.npuBubbleFraction().getAsDouble()) : "n/a";
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"22\" font-size=\"16\" font-weight=\"bold\">%s: "
                + "makespan %.3f ms, NPU bubble %s</text>%n", LEFT, escape(schedule.policy()), makespan * 1e3, bubble));
        if (subtitle != null && !subtitle.isEmpty()) {
            svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"42\" fill=\"#555\">%s</text>%n", LEFT, escape(subtitle)));
        }

        for (int d = 0; d < devices; d++) {
            int y = laneTop(d);
            svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s (%s) %.1f%%</text>%n",
                    LEFT - 8, y + LANE / 2 + 4, escape(costs.device(d).name()), costs.device(d).kind(),
                    100 * schedule.busyFraction(d)));
            svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>%n",
                    LEFT, y + LANE, WIDTH - RIGHT, y + LANE));
        }

        Set<TaskKind> kinds = EnumSet.noneOf(TaskKind.class);
        for (ScheduledTask e : schedule.entries()) {
            kinds.add(e.task().kind());
            double x = LEFT + e.start() * scale;
            double w = Math.max(MIN_TASK_WIDTH, e.duration() * scale);
            svg.append(String.format(Locale.ROOT, "<rect class=\"task\" x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" "
                    + "fill=\"%s\" stroke=\"#fff\" stroke-width=\"0.2\"><title>%s on %s: %.3f-%.3f ms (%.3f ms)</title></rect>%n",
                    x, laneTop(e.device()), w, LANE, e.task().kind().color(), escape(e.task().describe()),
                    escape(costs.device(e.device()).name()), e.start() * 1e3, e.end() * 1e3, e.duration() * 1e3));
        }

        appendAxis(svg, makespan, scale, lanesBottom);
        appendLegend(svg, kinds, lanesBottom + 55);
        svg.append("</svg>\n");
        return svg.toString();
    }

    private static int laneTop(int device) {
        return TOP + device * (LANE + LANE_GAP);
    }

    private static void appendAxis(StringBuilder svg, double makespan, double scale, int y) {
        svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#000\"/>%n",
                LEFT, y, WIDTH - RIGHT, y));
        double spanMs = makespan * 1e3;
        if (spanMs <= 0) {
            return;
        }
        double step = niceStep(spanMs / 10);
        for (int i = 0; i * step <= spanMs * (1 + 1e-9); i++) {
            double ms = i * step;
            double x = LEFT + ms / 1e3 * scale;
            svg.append(String.format(Locale.ROOT, "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%d\" stroke=\"#000\"/>"
                    + "<text x=\"%.2f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n",
                    x, y, x, y + 5, x, y + 18, formatTick(ms, step)));
        }
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">ms</text>%n",
                LEFT - 8, y + 18));
    }

    /** 1, 2 or 5 times a power of ten, at least {@code raw}. */
    static double niceStep(double raw) {
        double power = Math.pow(10, Math.floor(Math.log10(raw)));
        for (double m : new double[] {1, 2, 5, 10}) {
            if (m * power >= raw) {
                return m * power;
            }
        }
        return 10 * power;
    }

    private static String formatTick(double ms, double step) {
        if (step >= 1) {
            return String.format(Locale.ROOT, "%.0f", ms);
        }
        int decimals = (int) Math.ceil(-Math.log10(step));
        return String.format(Locale.ROOT, "%." + decimals + "f", ms);
    }

    private static void appendLegend(StringBuilder svg, Set<TaskKind> kinds, int y) {
        int x = LEFT;
        for (TaskKind kind : kinds) {
            svg.append(String.format(Locale.ROOT, "<circle cx=\"%d\" cy=\"%d\" r=\"6\" fill=\"%s\"/>"
                    + "<text x=\"%d\" y=\"%d\">%s</text>%n", x + 6, y - 4, kind.color(), x + 16, y, escape(kind.label())));
            x += 30 + 8 * kind.label().length();
        }
    }

    static String escape(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&apos;");
                default -> {
                    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
                        out.append(' ');      // not allowed in XML 1.0
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.toString();
    }
}
