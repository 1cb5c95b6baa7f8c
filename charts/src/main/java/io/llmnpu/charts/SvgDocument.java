package io.llmnpu.charts;

import java.util.Locale;

/**
 * An SVG document written element by element. Every attribute value and text passes through
 * {@link #escape}, so labels taken from model files, device names or user input cannot break the XML.
 * Coordinates are written with at most two decimals, in the root locale.
 *
 * <p>Attributes beyond an element's geometry are given as name/value pairs: {@code rect(x, y, w, h,
 * "fill", "#4e79a7", "class", "bar")}.
 */
public final class SvgDocument {
    private final StringBuilder out = new StringBuilder(4096);
    private final int width;
    private final int height;
    private int openGroups;
    private boolean finished;

    /** A document of the given size with sans-serif 12 px text (transparent: see {@link #background}). */
    public SvgDocument(int width, int height) {
        out.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        out.append("<svg xmlns=\"http://www.w3.org/2000/svg\"");
        attributes("width", width, "height", height, "viewBox", "0 0 " + width + " " + height,
                "font-family", "sans-serif", "font-size", 12);
        out.append(">\n");
        this.width = width;
        this.height = height;
    }

    /** Fills the whole document (call first, so that it lies under everything). */
    public SvgDocument background(String fill) {
        return rect(0, 0, width, height, "fill", fill);
    }

    /** A rectangle with a tooltip ({@code title}; null: none). */
    public SvgDocument rect(String title, double x, double y, double width, double height, Object... attributes) {
        out.append("<rect");
        attributes("x", x, "y", y, "width", width, "height", height);
        attributes(attributes);
        return titled(title, "rect");
    }

    /** A rectangle without a tooltip. */
    public SvgDocument rect(double x, double y, double width, double height, Object... attributes) {
        return rect(null, x, y, width, height, attributes);
    }

    public SvgDocument line(double x1, double y1, double x2, double y2, Object... attributes) {
        out.append("<line");
        attributes("x1", x1, "y1", y1, "x2", x2, "y2", y2);
        attributes(attributes);
        out.append("/>\n");
        return this;
    }

    /** A path; {@code d} is path data such as {@code "M10 20 H30"}. */
    public SvgDocument path(String d, Object... attributes) {
        out.append("<path");
        attributes("d", d);
        attributes(attributes);
        out.append("/>\n");
        return this;
    }

    public SvgDocument circle(double cx, double cy, double r, Object... attributes) {
        out.append("<circle");
        attributes("cx", cx, "cy", cy, "r", r);
        attributes(attributes);
        out.append("/>\n");
        return this;
    }

    /** Text whose baseline starts at (x, y). */
    public SvgDocument text(double x, double y, String text, Object... attributes) {
        out.append("<text");
        attributes("x", x, "y", y);
        attributes(attributes);
        out.append('>').append(escape(text)).append("</text>\n");
        return this;
    }

    /**
     * Text made of coloured runs: {@code runs} alternates text and fill colour (null: the default), e.g.
     * {@code "latency (", null, "prefill", "#4e79a7", ")", null}.
     */
    public SvgDocument colouredText(double x, double y, Object[] runs, Object... attributes) {
        out.append("<text");
        attributes("x", x, "y", y);
        attributes(attributes);
        out.append('>');
        for (int i = 0; i + 1 < runs.length; i += 2) {
            String run = escape(String.valueOf(runs[i]));
            if (runs[i + 1] == null) {
                out.append(run);
            } else {
                out.append("<tspan fill=\"").append(escape(String.valueOf(runs[i + 1]))).append("\">").append(run)
                        .append("</tspan>");
            }
        }
        out.append("</text>\n");
        return this;
    }

    /** Opens a group ({@code <g>}); close it with {@link #endGroup}. */
    public SvgDocument group(Object... attributes) {
        out.append("<g");
        attributes(attributes);
        out.append(">\n");
        openGroups++;
        return this;
    }

    public SvgDocument endGroup() {
        if (openGroups == 0) {
            throw new IllegalStateException("no group is open");
        }
        openGroups--;
        out.append("</g>\n");
        return this;
    }

    /** The finished document. */
    @Override
    public String toString() {
        if (!finished) {
            if (openGroups > 0) {
                throw new IllegalStateException(openGroups + " group(s) still open");
            }
            out.append("</svg>\n");
            finished = true;
        }
        return out.toString();
    }

    /**
     * Text as XML character data or an attribute value: markup characters as entities, and the control
     * characters XML 1.0 does not allow as spaces.
     */
    public static String escape(String text) {
        StringBuilder b = new StringBuilder(text.length() + 16);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&apos;");
                default -> b.append(c < 0x20 && c != '\t' && c != '\n' && c != '\r' ? ' ' : c);
            }
        }
        return b.toString();
    }

    private SvgDocument titled(String title, String element) {
        if (title == null) {
            out.append("/>\n");
        } else {
            out.append("><title>").append(escape(title)).append("</title></").append(element).append(">\n");
        }
        return this;
    }

    private void attributes(Object... pairs) {
        if (finished) {
            throw new IllegalStateException("the document is finished");
        }
        if (pairs.length % 2 != 0) {
            throw new IllegalArgumentException("attributes come as name/value pairs");
        }
        for (int i = 0; i < pairs.length; i += 2) {
            out.append(' ').append(pairs[i]).append("=\"").append(escape(format(pairs[i + 1]))).append('"');
        }
    }

    private static String format(Object value) {
        if (value instanceof Double || value instanceof Float) {
            double d = ((Number) value).doubleValue();
            if (d == Math.rint(d) && Math.abs(d) < 1e15) {
                return Long.toString((long) d);
            }
            return String.format(Locale.ROOT, "%.2f", d);
        }
        return String.valueOf(value);
    }
}
