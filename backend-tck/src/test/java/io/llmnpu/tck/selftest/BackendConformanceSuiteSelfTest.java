package io.llmnpu.tck.selftest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectMethod;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestReporter;
import org.junit.platform.engine.DiscoverySelector;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the conformance suite, through the JUnit Platform launcher, against the correct test backend
 * (it must pass every check) and against the test backend with every {@link Defect} planted (each
 * defect must make its own checks fail, with a message that says what is wrong, while the checks the
 * defects do not touch still pass). Two targeted runs add: a backend that rounds its activations to
 * the weights' precision passes the numeric checks, and a backend whose closed graphs hit their freed
 * memory fails the use-after-close check.
 */
class BackendConformanceSuiteSelfTest {
    private static final Logger LOG = LoggerFactory.getLogger(BackendConformanceSuiteSelfTest.class);

    /** One finished test of a launcher run. */
    record Outcome(String name, TestExecutionResult.Status status, String message) {
    }

    /** Everything a launcher run reported. */
    record Report(TestExecutionSummary summary, List<Outcome> tests) {

        List<Outcome> matching(String regex) {
            Pattern p = Pattern.compile(regex);
            return tests.stream().filter(o -> p.matcher(o.name()).find()).toList();
        }

        List<Outcome> with(TestExecutionResult.Status status) {
            return tests.stream().filter(o -> o.status() == status).toList();
        }

        String describe(List<Outcome> outcomes) {
            return outcomes.stream().map(o -> o.name() + ": " + o.message()).collect(Collectors.joining("\n  ", "\n  ", ""));
        }
    }

    private static Report run(Class<?> fixture) {
        return run(selectClass(fixture));
    }

    private static Report run(DiscoverySelector... selectors) {
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request().selectors(selectors).build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        List<Outcome> tests = new ArrayList<>();
        TestExecutionListener collector = new TestExecutionListener() {
            @Override
            public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                if (id.isTest() || result.getStatus() != TestExecutionResult.Status.SUCCESSFUL) {
                    tests.add(new Outcome(id.getDisplayName(), result.getStatus(),
                            result.getThrowable().map(Throwable::getMessage).orElse("")));
                }
            }

            @Override
            public void executionSkipped(TestIdentifier id, String reason) {
                tests.add(new Outcome(id.getDisplayName(), TestExecutionResult.Status.ABORTED, "skipped: " + reason));
            }
        };
        launcher.execute(request, summary, collector);
        return new Report(summary.getSummary(), tests);
    }

    @Test
    void correctBackendPassesTheWholeSuite() {
        Report report = run(ReferenceBackendFixture.class);
        List<Outcome> failed = report.with(TestExecutionResult.Status.FAILED);
        assertTrue(failed.isEmpty(), () -> failed.size() + " checks failed for the correct backend:" + report.describe(failed));
        List<Outcome> aborted = report.with(TestExecutionResult.Status.ABORTED);
        assertTrue(aborted.isEmpty(), () -> "the correct backend supports every op, yet checks were skipped:" + report.describe(aborted));
        assertEquals(0, report.summary().getTotalFailureCount());
        assertTrue(report.summary().getTestsSucceededCount() >= 80,
                "expected the suite to run at least 80 checks, ran " + report.summary().getTestsSucceededCount());
        for (String check : List.of(
                "^ref0 Linear Q4_0 \\[\\d+x\\d+\\]->\\[\\d+x\\d+\\]$",
                "^ref0 Embedding BF16 ",
                "^ref0 Rope NEOX .* rotary 8 ",
                "^ref0 Attention heads 4 kv 1 ",
                "^ref0 QuantizedLinear per-channel \\[\\d+x\\d+\\]->\\[\\d+x\\d+\\] INT16 requantized$",
                "^ref0 OutlierShadow Q8_0 .* outliers hot and cold$",
                "^ref0 ShadowMerge F16 ",
                "^ref0 transformer block Q8_0 NEOX",
                "^ref0 refuses to compile Linear I8 ",
                "^ref0 refuses to execute with no binding for the input$",
                "^ref0 two compiled copies of a graph run on two threads at once$",
                "^ref0 1000 compile/execute/close cycles leak neither threads nor memory$",
                "^ref0 executing a closed compiled graph throws BackendException$",
                "^ref backend: Backend.close\\(\\) stops the backend's threads$")) {
            assertTrue(!report.matching(check).isEmpty(), () -> "no check named like /" + check + "/ ran; names were:"
                    + report.describe(report.tests()));
        }
    }

    @Test
    void brokenBackendFailsTheChecksItsDefectsBreak() {
        Report report = run(BrokenBackendFixture.class);
        assertTrue(report.summary().getTotalFailureCount() > 0, "the broken backend passed the suite");
        LOG.info("the broken backend failed {} checks, as it should:{}", report.summary().getTotalFailureCount(),
                report.describe(report.with(TestExecutionResult.Status.FAILED)));

        // each defect is caught by the checks aimed at it, with a message that explains the failure
        expectFailed(report, "^broken0 RmsNorm .* tiny rows$", "differs from the double-precision reference");
        expectFailed(report, "^broken0 RmsNorm .* eps 0\\.5$", "worst at [");
        expectFailed(report, "^broken0 Rope NEOX ", "differs from the double-precision reference");
        expectFailed(report, "^broken0 Attention heads 4 kv 2 ", "differs from the double-precision reference");
        expectFailed(report, "^broken0 Linear Q4_0 ", "allowed");
        expectFailed(report, "^broken0 Embedding Q4_0 ", "expected");
        expectFailed(report, "^broken0 QuantizedLinear per-tensor ", "differs from the double-precision reference");
        expectFailed(report, "^broken0 QuantizedLinear per-channel .* INT16 requantized$", "allowed");
        expectFailed(report, "^broken0 ShadowMerge F32 .* saturation limit 40\\.0$", "differs from the double-precision reference");
        expectFailed(report, "^broken0 OutlierShadow then ShadowMerge ", "differs from the double-precision reference");
        expectFailed(report, "^broken0 refuses to execute with an input of type I32 instead of F32 \\(same byte size\\)$",
                "must throw BackendException, but it returned normally");
        expectFailed(report, "^broken0 refuses to execute with an input with one row too many$", "must throw BackendException");
        expectFailed(report, "^broken0 runs a new shape only through a new compile$", "compiled for 3 rows with 5-row tensors");
        expectFailed(report, "^broken0 refuses to compile Linear I8 ", "IllegalArgumentException");
        expectFailed(report, "^broken0 two compiled copies of a graph run on two threads at once$", "differs from its result when run alone");
        expectFailed(report, "^broken0 executing a closed compiled graph throws BackendException$", "after its close()");
        expectFailed(report, "^broken0 1000 compile/execute/close cycles leak", "resident memory outside the Java heap grew");
        expectFailed(report, "^broken backend: executing a graph after Backend.close\\(\\) throws BackendException$",
                "compiled before Backend.close()");
        expectFailed(report, "^broken backend: Backend.close\\(\\) stops the backend's threads$", "still alive");

        // checks no defect touches still pass, so failures point at the defects and nothing else
        expectPassed(report, "^broken0 Rope ADJACENT ");
        expectPassed(report, "^broken0 Attention heads 4 kv [14] ");
        expectPassed(report, "^broken0 RmsNorm \\[\\d+x\\d+\\] eps 1\\.0E-5$");
        expectPassed(report, "^broken0 Linear (F32|F16|BF16|Q8_0) ");
        expectPassed(report, "^broken0 Embedding (F32|F16|BF16|Q8_0) ");
        expectPassed(report, "^broken0 (SiluMul|Add|SelectRow) ");
        expectPassed(report, "^broken0 OutlierShadow (F32|F16|Q8_0) ");
        expectPassed(report, "^broken0 ShadowMerge F32 .* no saturation limit$");
    }

    @Test
    void standardTolerancesAdmitActivationsRoundedToTheWeightPrecision() {
        Report report = run(selectMethod(LossyActivationsFixture.class, "opsMatchReference", TestReporter.class.getName()),
                selectMethod(LossyActivationsFixture.class, "transformerBlockMatchesReference"));
        List<Outcome> failed = report.with(TestExecutionResult.Status.FAILED);
        assertTrue(failed.isEmpty(), () -> "a backend rounding activations like llama.cpp's kernels failed:" + report.describe(failed));
        assertTrue(report.summary().getTestsSucceededCount() >= 50, "ran " + report.summary().getTestsSucceededCount());
    }

    @Test
    void useAfterCloseMustNotSurfaceAsAnFfmException() {
        Report report = run(selectMethod(UseAfterCloseFixture.class, "closedGraphRejectsExecution"));
        expectFailed(report, "^unchecked0 executing a closed compiled graph throws BackendException$",
                "must throw BackendException, but it threw java.lang.IllegalStateException");
    }

    private static void expectFailed(Report report, String regex, String messagePart) {
        List<Outcome> checks = report.matching(regex);
        if (checks.isEmpty()) {
            fail("no check named like /" + regex + "/ ran; names were:" + report.describe(report.tests()));
        }
        Optional<Outcome> notFailed = checks.stream().filter(o -> o.status() != TestExecutionResult.Status.FAILED).findFirst();
        notFailed.ifPresent(o -> fail("the broken backend should fail '" + o.name() + "' but it ended " + o.status()));
        for (Outcome o : checks) {
            assertTrue(o.message() != null && o.message().contains(messagePart),
                    () -> "failure of '" + o.name() + "' should say \"" + messagePart + "\" but says: " + o.message());
        }
    }

    private static void expectPassed(Report report, String regex) {
        List<Outcome> checks = report.matching(regex);
        if (checks.isEmpty()) {
            fail("no check named like /" + regex + "/ ran; names were:" + report.describe(report.tests()));
        }
        List<Outcome> bad = checks.stream().filter(o -> o.status() != TestExecutionResult.Status.SUCCESSFUL).toList();
        assertTrue(bad.isEmpty(), () -> "checks untouched by the planted defects failed:" + report.describe(bad));
    }
}
