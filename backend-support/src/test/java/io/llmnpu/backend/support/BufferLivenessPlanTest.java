package io.llmnpu.backend.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.Test;

/** Scratch reuse never lets two live values share a buffer, and long chains need only a few buffers. */
class BufferLivenessPlanTest {

    @Test
    void longChainAlternatesBetweenTwoBuffers() {
        SubgraphBuilder g = new SubgraphBuilder("chain");
        Value x = g.input("x", DType.F32, Shape.of(4, 8));
        Value cur = x;
        for (int i = 0; i < 20; i++) {
            cur = g.add(new Op.Add(cur, x, g.value("v" + i, DType.F32, Shape.of(4, 8)))).out();
        }
        g.output(cur);
        Subgraph graph = g.build();
        BufferLivenessPlan plan = BufferLivenessPlan.of(graph.ops(), boundIds(graph));
        assertEquals(2, plan.buffers(), plan.toString());
        assertEquals(2 * 4 * 8 * 4L, plan.totalBytes());
    }

    @Test
    void aValueNobodyReadsFreesItsBufferAtOnce() {
        SubgraphBuilder g = new SubgraphBuilder("dead");
        Value x = g.input("x", DType.F32, Shape.of(1, 4));
        g.add(new Op.Add(x, x, g.value("unused", DType.F32, Shape.of(1, 4))));
        Value a = g.add(new Op.Add(x, x, g.value("a", DType.F32, Shape.of(1, 4)))).out();
        Value y = g.add(new Op.Add(a, x, g.value("y", DType.F32, Shape.of(1, 4)))).out();
        g.output(y);
        Subgraph graph = g.build();
        BufferLivenessPlan plan = BufferLivenessPlan.of(graph.ops(), boundIds(graph));
        assertEquals(1, plan.buffers(), plan.toString());
    }

    @Test
    void aSmallFreeBufferGrowsRatherThanANewOneBeingAdded() {
        SubgraphBuilder g = new SubgraphBuilder("grow");
        Value x = g.input("x", DType.F32, Shape.of(1, 4));
        Value wide = g.input("wide", DType.F32, Shape.of(1, 16));
        Value a = g.add(new Op.Add(x, x, g.value("a", DType.F32, Shape.of(1, 4)))).out();
        Value b = g.add(new Op.Add(a, x, g.value("b", DType.F32, Shape.of(1, 4)))).out();
        Value c = g.add(new Op.Add(wide, wide, g.value("c", DType.F32, Shape.of(1, 16)))).out();
        Value d = g.add(new Op.Add(c, wide, g.value("d", DType.F32, Shape.of(1, 16)))).out();
        g.output(b);
        g.output(d);
        Subgraph graph = g.build();
        BufferLivenessPlan plan = BufferLivenessPlan.of(graph.ops(), boundIds(graph));
        // a dies at op 1 and c then takes (and grows) its buffer: one buffer of 16 floats.
        assertEquals(1, plan.buffers(), plan.toString());
        assertEquals(64, plan.bufferBytes(0));
        assertEquals(plan.bufferOf(a.id()), plan.bufferOf(c.id()));
    }

    /**
     * Random DAGs over values of a few widths: no two values alive at the same time share a buffer,
     * every buffer holds its values, and bound values get none.
     */
    @RepeatedTest(30)
    void liveValuesNeverShareABuffer(RepetitionInfo info) {
        Random rnd = new Random(1000 + info.getCurrentRepetition());
        SubgraphBuilder b = new SubgraphBuilder("random");
        List<Value> available = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            available.add(b.input("in" + i, DType.F32, Shape.of(1, 1 + rnd.nextInt(50))));
        }
        int ops = 5 + rnd.nextInt(30);
        boolean lastIsOutput = false;
        for (int i = 0; i < ops; i++) {
            Value a = available.get(rnd.nextInt(available.size()));
            Value c = available.get(Math.max(0, available.size() - 1 - rnd.nextInt(3)));
            // The plan never looks at what an op computes, only at what it reads and writes.
            Value out = b.value("v" + i, DType.F32, Shape.of(1, 1 + rnd.nextInt(50)));
            b.add(new Op.SiluMul(a, c, out));
            available.add(out);
            lastIsOutput = rnd.nextInt(6) == 0;
            if (lastIsOutput) {
                b.output(out);
            }
        }
        if (!lastIsOutput) {
            b.output(available.getLast());
        }
        Subgraph g = b.build();
        Set<Integer> bound = boundIds(g);
        BufferLivenessPlan plan = BufferLivenessPlan.of(g.ops(), bound);

        Map<Integer, int[]> live = liveRanges(g);
        List<Value> placed = new ArrayList<>();
        for (Op op : g.ops()) {
            for (Value v : op.outputs()) {
                if (bound.contains(v.id())) {
                    assertThrows(IllegalArgumentException.class, () -> plan.bufferOf(v.id()));
                    assertFalse(plan.bufferIndex().containsKey(v.id()));
                } else {
                    placed.add(v);
                    assertTrue(plan.bufferBytes(plan.bufferOf(v.id())) >= 4L * v.shape().elements(),
                            v + " does not fit its buffer");
                }
            }
        }
        for (Value u : placed) {
            for (Value v : placed) {
                int[] ru = live.get(u.id());
                int[] rv = live.get(v.id());
                if (u != v && ru[0] <= rv[1] && rv[0] <= ru[1]) {
                    assertNotEquals(plan.bufferOf(u.id()), plan.bufferOf(v.id()),
                            u + " and " + v + " are alive together but share a buffer");
                }
            }
        }
    }

    private static Set<Integer> boundIds(Subgraph g) {
        Set<Integer> bound = new HashSet<>();
        g.inputs().forEach(v -> bound.add(v.id()));
        g.outputs().forEach(v -> bound.add(v.id()));
        return bound;
    }

    /** [index of the op that makes the value, index of the last op that reads it (or makes it)]. */
    private static Map<Integer, int[]> liveRanges(Subgraph g) {
        Map<Integer, int[]> live = new HashMap<>();
        for (int i = 0; i < g.ops().size(); i++) {
            Op op = g.ops().get(i);
            for (Value v : op.inputs()) {
                if (live.containsKey(v.id())) {
                    live.get(v.id())[1] = i;
                }
            }
            for (Value v : op.outputs()) {
                live.put(v.id(), new int[] {i, i});
            }
        }
        return live;
    }
}
