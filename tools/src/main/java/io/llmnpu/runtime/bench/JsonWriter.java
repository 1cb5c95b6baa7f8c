package io.llmnpu.runtime.bench;

import java.util.ArrayDeque;
import java.util.Locale;

/**
 * A minimal streaming JSON writer (objects, arrays, strings, numbers), enough for benchmark results
 * without a JSON library. Commas are placed automatically; output is indented two spaces per level.
 */
final class JsonWriter {
    private final StringBuilder out = new StringBuilder();
    /** Per open container: whether it already has an element (a comma is due before the next). */
    private final ArrayDeque<boolean[]> open = new ArrayDeque<>();
    private boolean afterKey;

    JsonWriter beginObject() {
        value("{");
        open.push(new boolean[1]);
        return this;
    }

    JsonWriter endObject() {
        return close('}');
    }

    JsonWriter beginArray() {
        value("[");
        open.push(new boolean[1]);
        return this;
    }

    JsonWriter endArray() {
        return close(']');
    }

    JsonWriter key(String name) {
        separate();
        out.append(quote(name)).append(": ");
        afterKey = true;
        return this;
    }

    JsonWriter string(String s) {
        return value(s == null ? "null" : quote(s));
    }

    JsonWriter number(long v) {
        return value(Long.toString(v));
    }

    /** A finite number; NaN and infinities, which JSON cannot hold, become null. */
    JsonWriter number(double v) {
        if (!Double.isFinite(v)) {
            return value("null");
        }
        return value(v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : String.format(Locale.ROOT, "%.6g", v));
    }

    JsonWriter bool(boolean v) {
        return value(Boolean.toString(v));
    }

    JsonWriter field(String name, String v) {
        return key(name).string(v);
    }

    JsonWriter field(String name, long v) {
        return key(name).number(v);
    }

    JsonWriter field(String name, double v) {
        return key(name).number(v);
    }

    @Override
    public String toString() {
        if (!open.isEmpty()) {
            throw new IllegalStateException(open.size() + " containers still open");
        }
        return out.append('\n').toString();
    }

    private JsonWriter value(String text) {
        if (!afterKey) {
            separate();
        }
        afterKey = false;
        out.append(text);
        return this;
    }

    private void separate() {
        if (open.isEmpty()) {
            return;
        }
        boolean[] hasElement = open.peek();
        if (hasElement[0]) {
            out.append(',');
        }
        hasElement[0] = true;
        newline(open.size());
    }

    private JsonWriter close(char bracket) {
        boolean[] hasElement = open.pop();
        if (hasElement[0]) {
            newline(open.size());
        }
        out.append(bracket);
        return this;
    }

    private void newline(int depth) {
        out.append('\n').append("  ".repeat(depth));
    }

    static String quote(String s) {
        StringBuilder q = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> q.append("\\\"");
                case '\\' -> q.append("\\\\");
                case '\n' -> q.append("\\n");
                case '\r' -> q.append("\\r");
                case '\t' -> q.append("\\t");
                default -> {
                    if (c < 0x20) {
                        q.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        q.append(c);
                    }
                }
            }
        }
        return q.append('"').toString();
    }
}
