package io.llmnpu.tck.skip;

import java.io.PrintStream;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.TestSource;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

/**
 * Prints, at the end of a test run, every reason tests were skipped (disabled by a condition such as
 * {@link RequiresBackend}, or aborted by an assumption), with the test classes it hit: on a machine
 * without a driver the run says which tests it could not run and why, instead of only counting them.
 * Registered with the JUnit Platform through {@code META-INF/services}, so it is active wherever this
 * module is on the test class path.
 */
public final class SkipReasons implements TestExecutionListener {
    /** Test classes by reason, and how many tests each reason skipped. */
    private final Map<String, Set<String>> classes = new TreeMap<>();
    private final Map<String, Integer> counts = new TreeMap<>();
    private final PrintStream out;

    public SkipReasons() {
        this(System.out);
    }

    SkipReasons(PrintStream out) {
        this.out = out;
    }

    @Override
    public synchronized void executionSkipped(TestIdentifier test, String reason) {
        record(test, reason);
    }

    @Override
    public synchronized void executionFinished(TestIdentifier test, TestExecutionResult result) {
        if (result.getStatus() == TestExecutionResult.Status.ABORTED) {
            record(test, result.getThrowable().map(Throwable::getMessage).orElse("aborted"));
        }
    }

    @Override
    public synchronized void testPlanExecutionFinished(TestPlan plan) {
        for (Map.Entry<String, Set<String>> e : classes.entrySet()) {
            int n = counts.get(e.getKey());
            out.printf("[SKIPPED] %d %s in %s: %s%n", n, n == 1 ? "test" : "tests", String.join(", ", e.getValue()),
                    e.getKey());
        }
        out.flush();
        classes.clear();
        counts.clear();
    }

    private void record(TestIdentifier test, String reason) {
        String why = reason == null || reason.isBlank() ? "no reason given"
                : reason.strip().replace('\n', ' ').replaceFirst("^Assumption failed: ", "");
        classes.computeIfAbsent(why, r -> new TreeSet<>()).add(className(test.getSource()));
        counts.merge(why, 1, Integer::sum);
    }

    private static String className(Optional<TestSource> source) {
        return source.map(s -> switch (s) {
            case ClassSource c -> simpleName(c.getClassName());
            case MethodSource m -> simpleName(m.getClassName());
            default -> s.toString();
        }).orElse("(unknown)");
    }

    private static String simpleName(String className) {
        return className.substring(className.lastIndexOf('.') + 1);
    }
}
