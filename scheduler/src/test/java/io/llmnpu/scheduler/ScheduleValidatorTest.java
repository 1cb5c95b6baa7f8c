package io.llmnpu.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ScheduleValidatorTest {
    private static final double INF = Double.POSITIVE_INFINITY;
    private final ScheduleValidator validator = new ScheduleValidator();

    private static TaskGraph chainOfTwoAndOne() {
        TaskGraph.Builder b = TaskGraph.builder();
        int a = b.add(0, 0, TaskKind.INT8_LINEAR);
        int c = b.add(0, 0, TaskKind.ATTENTION);
        b.add(1, 0, TaskKind.INT8_LINEAR);
        b.dependency(a, c);
        return b.build();
    }

    private static final CostTable COSTS = CostTable.of(LowerBoundsTest.devices(2),
            new double[][] {{1, INF}, {2, 2}, {1, 3}});

    private List<String> check(double[][] placement) {
        TaskGraph g = chainOfTwoAndOne();
        List<ScheduledTask> entries = new java.util.ArrayList<>();
        for (int t = 0; t < 3; t++) {
            entries.add(new ScheduledTask(g.task(t), (int) placement[t][0], placement[t][1], placement[t][2]));
        }
        return validator.violations(new Schedule(g, COSTS, "hand", entries));
    }

    @Test
    void acceptsAValidSchedule() {
        assertEquals(List.of(), check(new double[][] {{0, 0, 1}, {1, 1, 3}, {0, 1, 2}}));
    }

    @Test
    void findsEachKindOfViolation() {
        assertMatches("before its dependency", check(new double[][] {{0, 0, 1}, {1, 0.5, 2.5}, {0, 1, 2}}));
        assertMatches("at the same time", check(new double[][] {{0, 0, 1}, {1, 1, 3}, {0, 0.5, 1.5}}));
        assertMatches("may not run it", check(new double[][] {{1, 0, 1}, {1, 1, 3}, {0, 1, 2}}));
        assertMatches("instead of", check(new double[][] {{0, 0, 1}, {1, 1, 2}, {0, 1, 2}}));
        assertMatches("unknown device", check(new double[][] {{0, 0, 1}, {5, 1, 3}, {0, 1, 2}}));
        TaskGraph g = chainOfTwoAndOne();
        Schedule bad = new Schedule(g, COSTS, "hand", List.of(new ScheduledTask(g.task(0), 0, 0, 1),
                new ScheduledTask(g.task(1), 0, 0.2, 2.2), new ScheduledTask(g.task(2), 0, 1, 2)));
        assertTrue(assertThrows(IllegalStateException.class, () -> validator.check(bad)).getMessage().contains("hand"));
    }

    private static void assertMatches(String expected, List<String> problems) {
        assertTrue(problems.stream().anyMatch(p -> p.contains(expected)), expected + " not in " + problems);
    }
}
