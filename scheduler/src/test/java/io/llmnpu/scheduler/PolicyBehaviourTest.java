package io.llmnpu.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.DeviceKind;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Small hand-built cases where the right decision of each policy is known. */
class PolicyBehaviourTest {
    private static final double INF = Double.POSITIVE_INFINITY;
    private static final List<Processor> NPU_CPU = List.of(
            new Processor("npu", DeviceKind.NPU), new Processor("cpu", DeviceKind.CPU));
    private final Simulator simulator = new Simulator();

    @Test
    void greedyCpuFirstRunsTheTaskThatUnlocksTheMostNpuWork() {
        TaskGraph.Builder b = TaskGraph.builder();
        int small = b.add(0, 0, TaskKind.ATTENTION);     // unlocks 1 s of NPU work
        int big = b.add(1, 0, TaskKind.ATTENTION);       // unlocks 5 s of NPU work
        int npuSmall = b.add(0, 0, TaskKind.INT8_LINEAR);
        int npuBig = b.add(1, 0, TaskKind.INT8_LINEAR);
        b.dependency(small, npuSmall).dependency(big, npuBig);
        TaskGraph g = b.build();
        CostTable costs = CostTable.of(NPU_CPU, new double[][] {{INF, 2}, {INF, 2}, {1, INF}, {5, INF}});
        Schedule s = simulator.run(g, costs, new GreedyOutOfOrderPolicy());
        assertEquals(0, s.entry(big).start(), "the CPU feeds the NPU the bigger block first");
        assertEquals(2, s.entry(small).start());
        assertEquals(2, s.entry(npuBig).start());
        assertEquals(8, s.makespan(), 1e-12);    // NPU busy from 2 to 8 without a gap
        // In program order the small block goes first and the big one reaches the NPU only at 4: 9 s.
        assertEquals(9, simulator.run(g, costs, new InOrderPolicy()).makespan(), 1e-12);
    }

    @Test
    void greedyNpuFirstRunsTheTaskThatUnlocksTheLeastCpuWork() {
        TaskGraph.Builder b = TaskGraph.builder();
        int feedsMuch = b.add(0, 0, TaskKind.INT8_LINEAR);       // its completion releases 4 s of CPU work
        int feedsLittle = b.add(1, 0, TaskKind.INT8_LINEAR);     // releases 1 s
        int cpuMuch = b.add(0, 0, TaskKind.ATTENTION);
        int cpuLittle = b.add(1, 0, TaskKind.ATTENTION);
        b.dependency(feedsMuch, cpuMuch).dependency(feedsLittle, cpuLittle);
        TaskGraph g = b.build();
        CostTable costs = CostTable.of(NPU_CPU, new double[][] {{1, INF}, {1, INF}, {INF, 4}, {INF, 1}});
        Schedule s = simulator.run(g, costs, new GreedyOutOfOrderPolicy());
        // Score on the NPU is minus the unlocked time: -1 beats -4 even though feedsMuch comes first.
        assertEquals(0, s.entry(feedsLittle).start());
        assertEquals(1, s.entry(feedsMuch).start());
        // The max-unlock variant hands the CPU its longer task first.
        Schedule feeding = simulator.run(g, costs, GreedyOutOfOrderPolicy.maxUnlock());
        assertEquals(0, feeding.entry(feedsMuch).start());
        assertEquals(1, feeding.entry(cpuMuch).start());
    }

    @Test
    void greedyBreaksTiesByProgramOrder() {
        TaskGraph g = LowerBoundsTest.independent(3);
        CostTable costs = CostTable.of(NPU_CPU, new double[][] {{1, INF}, {1, INF}, {1, INF}});
        Schedule s = simulator.run(g, costs, new GreedyOutOfOrderPolicy());
        assertEquals(List.of(0.0, 1.0, 2.0), s.entries().stream().map(ScheduledTask::start).toList());
    }

    @Test
    void aFreeSlowDeviceLeavesATaskToABusyFastOneThatFinishesItSooner() {
        // Two tasks both allowed everywhere: NPU 1 s each, CPU 10 s each. After the NPU takes the first,
        // the CPU would finish the second at 10 s, the NPU at 2 s: the CPU must leave it.
        TaskGraph g = LowerBoundsTest.independent(2);
        CostTable costs = CostTable.of(NPU_CPU, new double[][] {{1, 10}, {1, 10}});
        for (SchedulingPolicy p : List.of(new GreedyOutOfOrderPolicy(), new CriticalPathPolicy())) {
            Schedule s = simulator.run(g, costs, p);
            assertEquals(2, s.makespan(), 1e-12, p.name());
            assertEquals(0, s.busySeconds(1), p.name());
        }
        // ...but takes it when that is faster: CPU 1.5 s against NPU 1 + 1.
        CostTable close = CostTable.of(NPU_CPU, new double[][] {{1, 1.5}, {1, 1.5}});
        assertEquals(1.5, simulator.run(g, close, new GreedyOutOfOrderPolicy()).makespan(), 1e-12);
    }

    @Test
    void criticalPathRunsTheLongestChainFirst() {
        TaskGraph.Builder b = TaskGraph.builder();
        int lone = b.add(0, 0, TaskKind.INT8_LINEAR);
        int head = b.add(1, 0, TaskKind.INT8_LINEAR);
        int tail = b.add(1, 1, TaskKind.INT8_LINEAR);
        b.dependency(head, tail);
        TaskGraph g = b.build();
        CostTable costs = CostTable.of(NPU_CPU, new double[][] {{2, INF}, {1, INF}, {3, 2}});
        Schedule s = simulator.run(g, costs, new CriticalPathPolicy());
        assertEquals(0, s.entry(head).start(), "rank 3 beats rank 2");
        assertEquals(1, s.entry(tail).start());
        assertEquals("cpu", costs.device(s.entry(tail).device()).name(), "the CPU finishes it sooner");
        assertEquals(1, s.entry(lone).start());
        assertEquals(3, s.makespan(), 1e-12);
    }

    @Test
    void inOrderNeverOverlapsWorkThatProgramOrderSeparates() {
        // Two independent tasks on different devices: in-order issue lets both start at once,
        // but a task whose best device is busy holds back everything after it.
        TaskGraph g = LowerBoundsTest.independent(3);
        CostTable costs = CostTable.of(NPU_CPU, new double[][] {{1, INF}, {2, INF}, {INF, 1}});
        Schedule s = simulator.run(g, costs, new InOrderPolicy());
        assertEquals(0, s.entry(0).start());
        assertEquals(1, s.entry(1).start());
        assertEquals(1, s.entry(2).start(), "task 2 waits until task 1 has started");
        assertEquals(0, simulator.run(g, costs, new GreedyOutOfOrderPolicy()).entry(2).start(),
                "out of order, the CPU starts at once");
    }

    @Test
    void simulatorRejectsAPolicyThatBreaksTheRules() {
        TaskGraph.Builder b = TaskGraph.builder();
        int a = b.add(0, 0, TaskKind.INT8_LINEAR);
        int c = b.add(0, 0, TaskKind.ATTENTION);
        b.dependency(a, c);
        TaskGraph g = b.build();
        CostTable costs = CostTable.of(NPU_CPU, new double[][] {{1, INF}, {INF, 1}});
        SchedulingPolicy eager = policy("eager", (view, device) -> view.isStarted(1) ? SchedulingPolicy.IDLE : 1);
        assertTrue(assertThrows(IllegalStateException.class, () -> simulator.run(g, costs, eager))
                .getMessage().contains("not ready"));
        SchedulingPolicy wrongDevice = policy("wrong",
                (view, device) -> view.isReady(0) ? 0 : view.isReady(1) ? 1 : SchedulingPolicy.IDLE);
        assertTrue(assertThrows(IllegalStateException.class, () -> simulator.run(g, costs, wrongDevice))
                .getMessage().contains("may not run it"));
        SchedulingPolicy lazy = policy("lazy", (view, device) -> SchedulingPolicy.IDLE);
        assertTrue(assertThrows(IllegalStateException.class, () -> simulator.run(g, costs, lazy))
                .getMessage().contains("idle"));
    }

    private static SchedulingPolicy policy(String name, SchedulingPolicy.Dispatcher dispatcher) {
        return new SchedulingPolicy() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Dispatcher newRun(TaskGraph graph, CostTable costs) {
                return dispatcher;
            }
        };
    }

    @Test
    void policiesByName() {
        assertEquals("greedy", Policies.byName("Greedy").name());
        assertEquals("in-order", Policies.byName("in-order").name());
        assertEquals("critical-path", Policies.byName("critical-path").name());
        assertEquals("greedy-max-unlock", Policies.byName("greedy-max-unlock").name());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Policies.byName("fifo"))
                .getMessage().contains("greedy"));
    }
}
