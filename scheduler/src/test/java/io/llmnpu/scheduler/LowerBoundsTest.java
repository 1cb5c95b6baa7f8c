package io.llmnpu.scheduler;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.DeviceKind;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LowerBoundsTest {
    private static final double INF = Double.POSITIVE_INFINITY;

    static Processor device(String name, DeviceKind kind) {
        return new Processor(name, kind);
    }

    static List<Processor> devices(int m) {
        List<Processor> list = new ArrayList<>();
        for (int d = 0; d < m; d++) {
            list.add(device("d" + d, d == 0 ? DeviceKind.NPU : DeviceKind.CPU));
        }
        return list;
    }

    static TaskGraph independent(int n) {
        TaskGraph.Builder b = TaskGraph.builder();
        for (int i = 0; i < n; i++) {
            b.add(0, 0, TaskKind.INT8_LINEAR);
        }
        return b.build();
    }

    @Test
    void handExamples() {
        // Two unit tasks, two identical devices: load 1, path 1.
        CostTable two = CostTable.of(devices(2), new double[][] {{1, 1}, {1, 1}});
        assertEquals(1, LowerBounds.fractionalLoad(two), 1e-12);
        // Three unit tasks, two identical devices: fractional load 1.5 (an integral schedule needs 2).
        CostTable three = CostTable.of(devices(2), new double[][] {{1, 1}, {1, 1}, {1, 1}});
        assertEquals(1.5, LowerBounds.fractionalLoad(three), 1e-12);
        // Work only device 0 may do: 2 + 3; device 1 takes the shared task.
        CostTable pinned = CostTable.of(devices(2), new double[][] {{2, INF}, {3, INF}, {1, 1}});
        assertEquals(5, LowerBounds.fractionalLoad(pinned), 1e-12);
        // Unrelated speeds: task a 1 s on d0 or 4 s on d1, alone: split a at x with x = 4(1-x): 0.8 s.
        CostTable unrelated = CostTable.of(devices(2), new double[][] {{1, 4}});
        assertEquals(0.8, LowerBounds.fractionalLoad(unrelated), 1e-12);
        // One device: the sum.
        assertEquals(6, LowerBounds.fractionalLoad(CostTable.of(devices(1), new double[][] {{1}, {2}, {3}})), 1e-12);
    }

    @Test
    void criticalPathTakesEachTaskAtItsFastestDevice() {
        TaskGraph.Builder b = TaskGraph.builder();
        int a = b.add(0, 0, TaskKind.INT8_LINEAR);
        int c = b.add(0, 0, TaskKind.ATTENTION);
        int d = b.add(0, 0, TaskKind.INT8_LINEAR);
        int e = b.add(0, 0, TaskKind.LOGITS);
        b.dependency(a, c).dependency(c, e).dependency(d, e);
        TaskGraph g = b.build();
        CostTable costs = CostTable.of(devices(2), new double[][] {{1, 2}, {5, 3}, {10, INF}, {1, 1}});
        assertEquals(11, LowerBounds.criticalPath(g, costs), 1e-12);      // d (10) -> e (1)
        assertArrayEquals(new double[] {5, 4, 11, 1}, LowerBounds.pathToSink(g, costs), 1e-12);
    }

    @Test
    void ascentMatchesTheExactTwoDeviceBound() {
        Random random = new Random(7);
        for (int round = 0; round < 40; round++) {
            int n = 2 + random.nextInt(40);
            double[][] two = new double[n][2];
            double[][] withIdle = new double[n][3];
            for (int t = 0; t < n; t++) {
                for (int d = 0; d < 2; d++) {
                    two[t][d] = random.nextDouble() < 0.2 ? INF : 0.1 + random.nextDouble();
                }
                if (two[t][0] == INF && two[t][1] == INF) {
                    two[t][0] = 1;
                }
                withIdle[t] = new double[] {two[t][0], two[t][1], INF};   // a third device that may run nothing
            }
            double exact = LowerBounds.fractionalLoad(CostTable.of(devices(2), two));
            double ascent = LowerBounds.fractionalLoad(CostTable.of(devices(3), withIdle));
            assertTrue(ascent <= exact * (1 + 1e-9), "ascent " + ascent + " above the optimum " + exact);
            assertEquals(exact, ascent, 2e-3 * exact, "round " + round);
        }
    }

    @Test
    void boundNeverExceedsTheOptimalScheduleFoundByExhaustiveSearch() {
        Random random = new Random(11);
        for (int round = 0; round < 60; round++) {
            int n = 2 + random.nextInt(5);
            int m = 1 + random.nextInt(3);
            TaskGraph g = RandomTaskGraphs.graph(random, n, random.nextDouble() * 0.6);
            CostTable costs = RandomTaskGraphs.costs(random, g, devices(m), 0.3);
            double optimum = new ExhaustiveSearch(g, costs).optimum();
            LowerBound bound = LowerBounds.of(g, costs);
            assertTrue(bound.seconds() <= optimum * (1 + 1e-9), "round " + round + ": bound " + bound + " > optimum " + optimum);
        }
    }

    @Test
    void simplexProjection() {
        double[] w = {0.5, 0.5, 0.5};
        LowerBounds.projectOntoSimplex(w);
        assertArrayEquals(new double[] {1.0 / 3, 1.0 / 3, 1.0 / 3}, w, 1e-12);
        double[] v = {2, 0, -1};
        LowerBounds.projectOntoSimplex(v);
        assertArrayEquals(new double[] {1, 0, 0}, v, 1e-12);
        double[] u = {0.6, 0.6, 0};
        LowerBounds.projectOntoSimplex(u);
        assertArrayEquals(new double[] {0.5, 0.5, 0}, u, 1e-12);
    }

    /**
     * Optimal makespan by trying every order of starting tasks and every device for each: every
     * schedule without needless waiting is one such (order, assignment) pair started as early as possible.
     */
    static final class ExhaustiveSearch {
        private final TaskGraph graph;
        private final CostTable costs;
        private final double[] end;
        private final boolean[] placed;
        private final double[] free;
        private double best = INF;

        ExhaustiveSearch(TaskGraph graph, CostTable costs) {
            this.graph = graph;
            this.costs = costs;
            this.end = new double[graph.size()];
            this.placed = new boolean[graph.size()];
            this.free = new double[costs.deviceCount()];
        }

        double optimum() {
            search(0, 0);
            return best;
        }

        private void search(int count, double makespan) {
            if (makespan >= best) {
                return;
            }
            if (count == graph.size()) {
                best = makespan;
                return;
            }
            for (int t = 0; t < graph.size(); t++) {
                if (placed[t] || !predecessorsPlaced(t)) {
                    continue;
                }
                double ready = 0;
                for (int p : graph.predecessors(t)) {
                    ready = Math.max(ready, end[p]);
                }
                for (int d = 0; d < costs.deviceCount(); d++) {
                    if (!costs.allowed(t, d)) {
                        continue;
                    }
                    double savedFree = free[d];
                    double start = Math.max(ready, free[d]);
                    end[t] = start + costs.seconds(t, d);
                    free[d] = end[t];
                    placed[t] = true;
                    search(count + 1, Math.max(makespan, end[t]));
                    placed[t] = false;
                    free[d] = savedFree;
                }
            }
        }

        private boolean predecessorsPlaced(int t) {
            for (int p : graph.predecessors(t)) {
                if (!placed[p]) {
                    return false;
                }
            }
            return true;
        }
    }
}
