package io.llmnpu.runtime.cli;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Checks of command-line values that commands share, run first thing in a command so that a wrong
 * value is reported before a model is loaded or anything is printed.
 */
final class FlagChecks {
    private FlagChecks() {
    }

    /** {@code value} of {@code flag} must be at least 0. */
    static int nonNegative(String flag, int value, String meaning) {
        if (value < 0) {
            throw new IllegalArgumentException(flag + " must be 0 or more (" + meaning + "), got " + value);
        }
        return value;
    }

    /**
     * A thread count: 0 (one per core) or more. More threads than cores is allowed but slow (they
     * take turns on the cores), so it is said on {@code warnings}.
     */
    static int threads(String flag, int threads, PrintStream warnings) {
        nonNegative(flag, threads, "0 = one per core");
        int cores = Runtime.getRuntime().availableProcessors();
        if (threads > cores) {
            warnings.printf(Locale.ROOT, "warning: %s %d is more than the %d core(s) of this machine; the threads "
                    + "take turns and run slower than %s %d%n", flag, threads, cores, flag, cores);
        }
        return threads;
    }
}
