package io.llmnpu.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

/** Scratch reuse never lets a live value share a buffer, and long chains need only a few buffers. */
class BufferPlanTest {

    @Test
    void longChainReusesTwoScratchBuffers() {
        SubgraphBuilder g = new SubgraphBuilder("chain");
        Value x = g.input("x", DType.F32, Shape.of(4, 8));
        Value cur = x;
        for (int i = 0; i < 20; i++) {
            cur = g.add(new Op.Add(cur, x, g.value("v" + i, DType.F32, Shape.of(4, 8)))).out();
        }
        g.output(cur);
        BufferPlan plan = BufferPlan.of(g.build(), Set.of());
        // x, the output, and two alternating intermediates.
        assertEquals(4, plan.slotBytes().size(), plan.toString());
    }

    /** Random DAGs: at every op, the buffers of all values still needed are pairwise distinct. */
    @RepeatedTest(20)
    void liveValuesNeverShareABuffer(org.junit.jupiter.api.RepetitionInfo rep) {
        Random rnd = new Random(rep.getCurrentRepetition());
        SubgraphBuilder g = new SubgraphBuilder("dag");
        List<Value> available = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            available.add(g.input("in" + i, DType.F32, Shape.of(1, 1 + rnd.nextInt(50))));
        }
        for (int i = 0; i < 30; i++) {
            Value a = available.get(rnd.nextInt(available.size()));
            Value out = g.value("v" + i, DType.F32, Shape.of(1, 1 + rnd.nextInt(50)));
            // Only elementwise-shaped ops matter here; shapes are not checked by the plan.
            g.add(new Op.SiluMul(a, available.get(rnd.nextInt(available.size())), out));
            available.add(out);
        }
        g.output(available.get(available.size() - 1));
        g.output(available.get(5));
        Subgraph graph = g.build();
        BufferPlan plan = BufferPlan.of(graph, Set.of());

        Map<Integer, Integer> lastRead = new HashMap<>();
        for (int i = 0; i < graph.ops().size(); i++) {
            for (Value in : graph.ops().get(i).inputs()) {
                lastRead.put(in.id(), i);
            }
        }
        Set<Integer> outputs = new java.util.HashSet<>();
        graph.outputs().forEach(v -> outputs.add(v.id()));
        List<Value> defined = new ArrayList<>(graph.inputs());
        for (int i = 0; i < graph.ops().size(); i++) {
            Op op = graph.ops().get(i);
            defined.addAll(op.outputs());
            int at = i;
            List<Value> live = defined.stream().filter(v -> outputs.contains(v.id()) || graph.inputs().contains(v)
                    || lastRead.getOrDefault(v.id(), -1) >= at || op.outputs().contains(v)).toList();
            for (int p = 0; p < live.size(); p++) {
                for (int q = p + 1; q < live.size(); q++) {
                    assertNotEquals(plan.slotOf().get(live.get(p).id()), plan.slotOf().get(live.get(q).id()),
                            "op " + i + ": " + live.get(p) + " and " + live.get(q) + " share a buffer");
                }
            }
            for (Value v : live) {
                assertTrue(plan.slotBytes().get(plan.slotOf().get(v.id())) >= v.shape().elements() * 4, "slot too small for " + v);
            }
        }
    }
}
