package io.llmnpu.charts;

import java.util.Locale;

/** Round numbers for chart axes, so scales and tick labels read easily. */
public final class Ticks {
    private Ticks() {
    }

    /** The smallest of 1, 2, 2.5 and 5 times a power of ten that is at least {@code v}; 1 for v <= 0. */
    public static double niceCeiling(double v) {
        return nice(v, new double[] {1, 2, 2.5, 5, 10}, 1);
    }

    /** The smallest of 1, 2 and 5 times a power of ten that is at least {@code raw} (a tick step); 1 for raw <= 0. */
    public static double niceStep(double raw) {
        return nice(raw, new double[] {1, 2, 5, 10}, 1);
    }

    private static double nice(double v, double[] multiples, double fallback) {
        if (!(v > 0) || Double.isInfinite(v)) {
            return fallback;
        }
        double power = Math.pow(10, Math.floor(Math.log10(v)));
        for (double m : multiples) {
            if (m * power >= v) {
                return m * power;
            }
        }
        return 10 * power;
    }

    /** A tick value with as many decimals as {@code step} needs (none for steps of 1 or more). */
    public static String label(double value, double step) {
        if (step >= 1 || !(step > 0)) {
            return value == Math.rint(value) ? Long.toString((long) value) : String.format(Locale.ROOT, "%.1f", value);
        }
        int decimals = (int) Math.ceil(-Math.log10(step) - 1e-9);
        return String.format(Locale.ROOT, "%." + decimals + "f", value);
    }
}
