package io.llmnpu.scheduler;

import io.llmnpu.charts.SvgDocument;
import io.llmnpu.charts.Ticks;
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
        SvgDocument svg = new SvgDocument(WIDTH, lanesBottom + 80);
        String bubble = schedule.npuBubbleFraction().isPresent()
                ? String.format(Locale.ROOT, "%.2f%%", 100 * schedule.npuBubbleFraction().getAsDouble()) : "n/a";
        svg.text(LEFT, 22, String.format(Locale.ROOT, "%s: makespan %.3f ms, NPU bubble %s", schedule.policy(),
                makespan * 1e3, bubble), "font-size", 16, "font-weight", "bold");
        if (subtitle != null && !subtitle.isEmpty()) {
            svg.text(LEFT, 42, subtitle, "fill", "#555");
        }

        for (int d = 0; d < devices; d++) {
            int y = laneTop(d);
            svg.text(LEFT - 8, y + LANE / 2 + 4, String.format(Locale.ROOT, "%s (%s) %.1f%%", costs.device(d).name(),
                    costs.device(d).kind(), 100 * schedule.busyFraction(d)), "text-anchor", "end");
            svg.line(LEFT, y + LANE, WIDTH - RIGHT, y + LANE, "stroke", "#ddd");
        }

        Set<TaskKind> kinds = EnumSet.noneOf(TaskKind.class);
        for (ScheduledTask e : schedule.entries()) {
            kinds.add(e.task().kind());
            double x = LEFT + e.start() * scale;
            double w = Math.max(MIN_TASK_WIDTH, e.duration() * scale);
            String title = String.format(Locale.ROOT, "%s on %s: %.3f-%.3f ms (%.3f ms)", e.task().describe(),
                    costs.device(e.device()).name(), e.start() * 1e3, e.end() * 1e3, e.duration() * 1e3);
            svg.rect(title, x, laneTop(e.device()), w, LANE, "class", "task", "fill", e.task().kind().color(), "stroke", "#fff", "stroke-width", 0.2);
        }

        appendAxis(svg, makespan, scale, lanesBottom);
        appendLegend(svg, kinds, lanesBottom + 55);
        return svg.toString();
    }

    private static int laneTop(int device) {
        return TOP + device * (LANE + LANE_GAP);
    }

    private static void appendAxis(SvgDocument svg, double makespan, double scale, int y) {
        svg.line(LEFT, y, WIDTH - RIGHT, y, "stroke", "#000");
        double spanMs = makespan * 1e3;
        if (spanMs <= 0) {
            return;
        }
        double step = Ticks.niceStep(spanMs / 10);
        for (int i = 0; i * step <= spanMs * (1 + 1e-9); i++) {
            double ms = i * step;
            double x = LEFT + ms / 1e3 * scale;
            svg.line(x, y, x, y + 5, "stroke", "#000");
            svg.text(x, y + 18, Ticks.label(ms, step), "text-anchor", "middle");
        }
        svg.text(LEFT - 8, y + 18, "ms", "text-anchor", "end");
    }

    private static void appendLegend(SvgDocument svg, Set<TaskKind> kinds, int y) {
        int x = LEFT;
        for (TaskKind kind : kinds) {
            svg.circle(x + 6, y - 4, 6, "fill", kind.color());
            svg.text(x + 16, y, kind.label());
            x += 30 + 8 * kind.label().length();
        }
    }
}
