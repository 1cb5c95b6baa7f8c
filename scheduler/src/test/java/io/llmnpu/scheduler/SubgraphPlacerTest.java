package io.llmnpu.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.Affinity;
import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Placement by affinity: what goes where, how the graph is cut, and that the cut is a valid DAG of valid graphs. */
class SubgraphPlacerTest {
    private static final SyntheticGraphs.Shape5 SMALL = new SyntheticGraphs.Shape5(64, 128, 3, 4, 2, 100);
    private final SubgraphPlacer placer = new SubgraphPlacer();

    private static Placement.Candidate c(FakeDevice d) {
        return new Placement.Candidate(d.name(), d);
    }

    @Test
    void oneDeviceRunsTheWholeGraphAsOneSegment() {
        Subgraph body = SyntheticGraphs.body(SMALL, 16, 64, l -> false, l -> false);
        Placement p = placer.place(body, List.of(c(FakeDevice.floats("cpu", DeviceKind.CPU, 1e-6))));
        assertEquals(1, p.segments().size());
        Placement.Segment only = p.segments().getFirst();
        assertEquals(body.name(), only.graph().name(), "an uncut graph keeps its name");
        assertEquals(body.ops(), only.graph().ops());
        assertEquals(body.outputs(), only.graph().outputs());
        assertEquals(body.ops().size() * 1e-6, only.estimatedSeconds(), 1e-12);
        assertEquals(2 * SMALL.layers(), p.state().size(), "every KV cache is state");
    }

    @Test
    void int8LinearsGoToTheNpuAndShadowsRunBesideThem() {
        Subgraph body = SyntheticGraphs.body(SMALL, 16, 64, l -> true, l -> true);
        Placement p = placer.place(body, List.of(c(FakeDevice.int8Only("npu", 1e-3)),
                c(FakeDevice.floats("cpu", DeviceKind.CPU, 1e-5))));
        checkValid(body, p);
        for (Placement.Segment s : p.segments()) {
            boolean int8 = s.graph().ops().stream().allMatch(op -> op instanceof Op.QuantizedLinear);
            assertEquals(s.device() == 0, int8, s.toString());
            assertEquals(int8 ? TaskKind.INT8_LINEAR : s.kind(), s.kind());
        }
        // Every shadow runs in a segment that does not wait for the NPU segment of its own linear layer.
        int shadows = 0;
        for (Placement.Segment s : p.segments()) {
            for (Op op : s.graph().ops()) {
                if (op instanceof Op.OutlierShadow shadow) {
                    shadows++;
                    String linear = shadow.out().name().replace(".shadow", ".npu");
                    Placement.Segment npu = producerOf(p, linear);
                    assertFalse(reaches(p, npu.index(), s.index()), "shadow " + shadow.out().name()
                            + " waits for its NPU half " + npu.graph().name());
                }
            }
        }
        assertEquals(7 * SMALL.layers(), shadows);
        // The NPU's O projection does not wait for the shadow of the QKV site's... of anything it does not read:
        for (Placement.Segment s : p.segments()) {
            if (s.device() == 0) {
                for (int pred : s.predecessors()) {
                    assertTrue(p.segments().get(pred).graph().outputs().stream().anyMatch(v ->
                            s.graph().inputs().contains(v)), s.graph().name() + " waits for a segment it does not read");
                }
            }
        }
    }

    @Test
    void preferredDeviceTakesWhatItSupportsAndUnsupportedOpsGoElsewhere() {
        Subgraph body = SyntheticGraphs.body(SMALL, 16, 64, l -> false, l -> false);
        FakeDevice gpu = new FakeDevice("gpu", DeviceKind.GPU, op -> op instanceof Op.Attention ? Affinity.unsupported()
                : new Affinity(Affinity.Support.NATIVE, 1.0));
        FakeDevice cpu = FakeDevice.floats("cpu", DeviceKind.CPU, 1e-6);
        Placement p = placer.place(body, List.of(new Placement.Candidate("gpu", gpu, true, 0), c(cpu)));
        checkValid(body, p);
        for (Placement.Segment s : p.segments()) {
            boolean attention = s.graph().ops().stream().anyMatch(op -> op instanceof Op.Attention);
            assertEquals(attention ? 1 : 0, s.device(), s.toString());
        }
        assertEquals(2 * SMALL.layers() + 1, p.segments().size(), "attention leaves the preferred GPU in every layer");
        Placement.Segment first = p.segments().getFirst();
        assertEquals(first.graph().ops().size() * 1.0, first.estimatedSeconds(), 1e-9,
                "a preferred device is costed by its own estimates");
    }

    @Test
    void handOffCostKeepsCheapOpsWithTheirNeighbours() {
        Subgraph body = SyntheticGraphs.body(SMALL, 16, 64, l -> false, l -> false);
        // The GPU is 10 us faster at every op but Add, where it is 1 us slower: not worth two hand-offs.
        FakeDevice gpu = new FakeDevice("gpu", DeviceKind.GPU, op -> new Affinity(Affinity.Support.NATIVE,
                op instanceof Op.Add ? 11e-6 : 0));
        FakeDevice cpu = FakeDevice.floats("cpu", DeviceKind.CPU, 10e-6);
        Placement p = placer.place(body, List.of(c(cpu), c(gpu)));
        assertEquals(1, p.segments().size());
        assertEquals(1, p.segments().getFirst().device());
        // Equal costs everywhere: the first-ranked device takes everything.
        Placement tie = placer.place(body, List.of(c(FakeDevice.floats("a", DeviceKind.GPU, 1e-6)),
                c(FakeDevice.floats("b", DeviceKind.CPU, 1e-6))));
        assertEquals(1, tie.segments().size());
        assertEquals(0, tie.segments().getFirst().device());
    }

    @Test
    void opNoDeviceSupportsIsAClearError() {
        Subgraph body = SyntheticGraphs.body(SMALL, 16, 64, l -> l == 1, l -> false);
        SubgraphPlacer.UnplaceableException e = assertThrows(SubgraphPlacer.UnplaceableException.class,
                () -> placer.place(body, List.of(c(FakeDevice.floats("cpu", DeviceKind.CPU, 1e-6)))));
        assertTrue(e.getMessage().contains("no device runs QuantizedLinear") && e.getMessage().contains("[cpu]"),
                e.getMessage());
    }

    /** Segments partition the ops in order, each is a valid graph, and predecessors precede. */
    static void checkValid(Subgraph graph, Placement p) {
        List<Op> ops = new ArrayList<>();
        Set<Value> written = new HashSet<>();
        for (Placement.Segment s : p.segments()) {
            for (int pred : s.predecessors()) {
                assertTrue(pred < s.index(), "segments are in topological order");
            }
            ops.addAll(s.graph().ops());
            for (Value in : s.graph().inputs()) {
                assertTrue(graph.inputs().contains(in) || written.contains(in),
                        s.graph().name() + " reads " + in + " before any earlier segment writes it");
                if (!graph.inputs().contains(in)) {
                    Placement.Segment producer = producerOf(p, in.name());
                    assertTrue(producer.index() == s.index() || reaches(p, producer.index(), s.index()),
                            s.graph().name() + " does not wait for the producer of " + in);
                }
            }
            written.addAll(s.graph().outputs());
        }
        assertEquals(new HashSet<>(graph.ops()), new HashSet<>(ops), "every op placed once");
        assertEquals(graph.ops().size(), ops.size());
        assertTrue(written.containsAll(graph.outputs()));
    }

    static Placement.Segment producerOf(Placement p, String value) {
        for (Placement.Segment s : p.segments()) {
            for (Op op : s.graph().ops()) {
                if (op.outputs().getFirst().name().equals(value)) {
                    return s;
                }
            }
        }
        throw new AssertionError("no segment produces " + value);
    }

    /** Whether segment {@code to} transitively waits for {@code from}. */
    static boolean reaches(Placement p, int from, int to) {
        BitSet seen = new BitSet();
        List<Integer> stack = new ArrayList<>(List.of(to));
        while (!stack.isEmpty()) {
            int s = stack.removeLast();
            for (int pred : p.segments().get(s).predecessors()) {
                if (pred == from) {
                    return true;
                }
                if (!seen.get(pred)) {
                    seen.set(pred);
                    stack.add(pred);
                }
            }
        }
        return false;
    }
}
