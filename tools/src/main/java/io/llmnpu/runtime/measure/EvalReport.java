package io.llmnpu.runtime.measure;

import io.llmnpu.charts.SvgDocument;
import io.llmnpu.runtime.quant.QuantMode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Renders a {@link QuantEvaluator.Result} as a text table, a JSON document and an SVG chart. */
public final class EvalReport {

    private EvalReport() {
    }

    public static String table(QuantEvaluator.Result r) {
        StringBuilder b = new StringBuilder();
        double base = r.fp32().perplexity();
        b.append(String.format(Locale.ROOT, "%-26s %10s %8s %9s %7s %6s %14s %8s %8s%n", "configuration", "perplexity",
                "vs fp32", "mean KL", "top-1", "shadow", "hot rows (CPU)", "time s", "overlap"));
        for (QuantEvaluator.ModeResult m : r.modes()) {
            boolean fp32 = !m.config().mode().quantized();
            b.append(String.format(Locale.ROOT, "%-26s %10.4f %8s %9s %7s %6s %14s %8.2f %8s%n", m.config().mode().label(),
                    m.perplexity(), fp32 ? "" : String.format(Locale.ROOT, "%+.2f%%", 100 * (m.perplexity() / base - 1)),
                    fp32 ? "" : String.format(Locale.ROOT, "%.5f", m.meanKl()),
                    fp32 ? "" : String.format(Locale.ROOT, "%.2f%%", 100 * m.top1Agreement()),
                    fp32 ? "" : Integer.toString(m.shadowSites()),
                    fp32 || m.shadowSites() == 0 ? "" : String.format(Locale.ROOT, "%s (%.2f%%)", bytes(m.hotBytes()),
                            100 * m.hotFraction()),
                    m.seconds(), fp32 ? "" : String.format(Locale.ROOT, "%.0f%%",
                            m.npuSeconds() > 0 ? 100 * m.overlapSeconds() / m.npuSeconds() : 0)));
        }
        b.append(String.format(Locale.ROOT, "%d sequences, %d predicted tokens. KL = KL(P_fp32 || P) per token; top-1 = "
                + "agreement with FP32's most likely token; hot rows = hot-channel weight columns the CPU keeps in F32, "
                + "and their share of all linear weights in F32; overlap = share of NPU time the CPU ran beside it.%n",
                r.sequences(), r.predictions()));
        return b.toString();
    }

    public static Map<String, Object> json(QuantEvaluator.Result r, Map<String, Object> context) {
        Map<String, Object> root = new LinkedHashMap<>(context);
        root.put("sequences", r.sequences());
        root.put("predictions", r.predictions());
        List<Object> modes = new ArrayList<>();
        for (QuantEvaluator.ModeResult m : r.modes()) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("mode", m.config().mode().key());
            o.put("label", m.config().mode().label());
            if (m.config().mode().quantized()) {
                o.put("weight_scales", m.config().weights().name().toLowerCase(Locale.ROOT));
                o.put("requantized_outputs", m.config().requantizeOutputs());
                if (m.config().mode() == QuantMode.SHADOW_PRUNED) {
                    o.put("shadow_fraction", m.config().shadowFraction());
                }
            }
            o.put("perplexity", m.perplexity());
            o.put("perplexity_vs_fp32", m.perplexity() / r.fp32().perplexity() - 1);
            o.put("mean_kl", m.meanKl());
            o.put("top1_agreement", m.top1Agreement());
            o.put("shadow_sites", m.shadowSites());
            o.put("hot_bytes", m.hotBytes());
            o.put("hot_fraction_of_linear_f32", m.hotFraction());
            o.put("seconds", m.seconds());
            o.put("npu_seconds", m.npuSeconds());
            o.put("cpu_seconds", m.cpuSeconds());
            o.put("overlap_seconds", m.overlapSeconds());
            modes.add(o);
        }
        root.put("modes", modes);
        return root;
    }

    /** Three bar panels: perplexity change vs FP32, mean KL, and top-1 agreement, one bar per configuration. */
    public static String svg(QuantEvaluator.Result r, String title) {
        List<QuantEvaluator.ModeResult> q = r.modes().stream().filter(m -> m.config().mode().quantized()).toList();
        int panelW = 300;
        int panelH = 220;
        int top = 80;
        int width = 3 * panelW + 40;
        int height = top + panelH + 40 + 18 * q.size();
        String[] colors = {"#d62728", "#ff7f0e", "#2ca02c", "#1f77b4", "#9467bd", "#8c564b"};
        SvgDocument s = new SvgDocument(width, height).background("white");
        s.text(20, 24, title, "font-size", 16, "font-weight", "bold");
        s.text(20, 44, String.format(Locale.ROOT, "FP32 perplexity %.4f over %d predicted tokens",
                r.fp32().perplexity(), r.predictions()));
        double base = r.fp32().perplexity();
        String[] names = {"perplexity vs FP32 (%)", "mean KL(P_fp32 || P)", "top-1 agreement with FP32 (%)"};
        for (int panel = 0; panel < 3; panel++) {
            double[] values = new double[q.size()];
            for (int i = 0; i < q.size(); i++) {
                QuantEvaluator.ModeResult m = q.get(i);
                values[i] = switch (panel) {
                    case 0 -> 100 * (m.perplexity() / base - 1);
                    case 1 -> m.meanKl();
                    default -> 100 * m.top1Agreement();
                };
            }
            double max = 0;
            double floor = 0;
            for (double v : values) {
                max = Math.max(max, Math.abs(v));
            }
            if (panel == 2) {
                // Agreement sits near 100%: start the axis a little below the lowest bar so differences show.
                double lowest = 100;
                for (double v : values) {
                    lowest = Math.min(lowest, v);
                }
                floor = Math.max(0, Math.floor(lowest / 5) * 5 - 5);
                max = 100 - floor;
                s.text(20 + panel * panelW, top + panelH + 14, String.format(Locale.ROOT, "axis from %.0f%%", floor),
                        "font-size", 10);
            }
            max = max == 0 ? 1 : max;
            int x0 = 20 + panel * panelW;
            s.text(x0, top - 4, names[panel], "font-weight", "bold");
            s.line(x0, top + panelH, x0 + panelW - 30, top + panelH, "stroke", "black");
            int barW = Math.max(8, (panelW - 40) / Math.max(1, q.size()) - 8);
            for (int i = 0; i < q.size(); i++) {
                double h = Math.abs(values[i] - floor) / max * (panelH - 20);
                int x = x0 + 5 + i * (barW + 8);
                s.rect(x, top + panelH - h, barW, h, "fill", colors[i % colors.length]);
                String label = panel == 1 ? String.format(Locale.ROOT, "%.4f", values[i])
                        : String.format(Locale.ROOT, "%.2f", values[i]);
                s.text(x, top + panelH - h - 3, label, "font-size", 10);
            }
        }
        for (int i = 0; i < q.size(); i++) {
            int y = top + panelH + 24 + i * 18;
            s.rect(20, y - 10, 12, 12, "fill", colors[i % colors.length]);
            s.text(38, y, q.get(i).config().mode().label());
        }
        return s.toString();
    }

    private static String bytes(long b) {
        if (b >= 1 << 20) {
            return String.format(Locale.ROOT, "%.1f MiB", b / 1048576.0);
        }
        if (b >= 1 << 10) {
            return String.format(Locale.ROOT, "%.1f KiB", b / 1024.0);
        }
        return b + " B";
    }
}
