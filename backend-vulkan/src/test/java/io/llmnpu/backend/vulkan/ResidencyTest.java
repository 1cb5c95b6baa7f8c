package io.llmnpu.backend.vulkan;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.CompiledGraph;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.SubgraphBuilder;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.tck.ReferenceOps;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * KV caches stay on the device between executions and graphs (uploaded once), while every execution
 * copies the rows it wrote back so the host tensors stay current; a forgotten copy is uploaded again.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ResidencyTest {
    private static final int HEADS = 4;
    private static final int KV_HEADS = 2;
    private static final int HEAD_DIM = 8;
    private static final int CONTEXT = 12;
    private static final int KV_WIDTH = KV_HEADS * HEAD_DIM;

    private VulkanTestDevice vk;

    @BeforeAll
    void open() {
        vk = VulkanTestDevice.open();
    }

    @AfterAll
    void close() {
        if (vk != null) {
            vk.close();
        }
    }

    private record AttentionGraph(Subgraph graph, Value q, Value k, Value v, Value positions, Value kCache, Value vCache,
                                  Value out) {
        static AttentionGraph of(int rows) {
            SubgraphBuilder g = new SubgraphBuilder("attention-" + rows);
            Value q = g.input("q", DType.F32, Shape.of(rows, HEADS * HEAD_DIM));
            Value k = g.input("k", DType.F32, Shape.of(rows, KV_WIDTH));
            Value v = g.input("v", DType.F32, Shape.of(rows, KV_WIDTH));
            Value positions = g.input("positions", DType.I32, Shape.of(rows));
            Value kc = g.input("k_cache", DType.F32, Shape.of(CONTEXT, KV_WIDTH));
            Value vc = g.input("v_cache", DType.F32, Shape.of(CONTEXT, KV_WIDTH));
            Value out = g.value("out", DType.F32, Shape.of(rows, HEADS * HEAD_DIM));
            g.add(new Op.Attention(q, k, v, positions, kc, vc, HEADS, KV_HEADS, HEAD_DIM, out));
            g.output(out);
            return new AttentionGraph(g.build(), q, k, v, positions, kc, vc, out);
        }

        /** One execution with random q, k, v, checked (output and both host caches) against the reference. */
        void step(CompiledGraph compiled, Arena arena, Random rnd, int[] pos, Tensor kCache, Tensor vCache) {
            int rows = pos.length;
            Tensor qt = TestTensors.random(arena, "q", q.shape(), rnd);
            Tensor kt = TestTensors.random(arena, "k", k.shape(), rnd);
            Tensor vt = TestTensors.random(arena, "v", v.shape(), rnd);
            Tensor outT = Tensor.allocate(arena, "out", DType.F32, out.shape());
            double[] refK = TestTensors.values(kCache);
            double[] refV = TestTensors.values(vCache);
            double[] expected = ReferenceOps.attention(TestTensors.values(qt), TestTensors.values(kt), TestTensors.values(vt),
                    pos, refK, refV, CONTEXT, HEADS, KV_HEADS, HEAD_DIM, new BitSet());
            Map<Value, Tensor> b = new HashMap<>();
            b.put(q, qt);
            b.put(k, kt);
            b.put(v, vt);
            b.put(positions, TestTensors.ints(arena, "positions", pos));
            b.put(this.kCache, kCache);
            b.put(this.vCache, vCache);
            b.put(out, outT);
            compiled.execute(b);
            TestTensors.assertClose(expected, TestTensors.values(outT), 1e-5, "attention at " + Arrays.toString(pos));
            assertArrayEquals(refK, TestTensors.values(kCache), "host key cache is current");
            assertArrayEquals(refV, TestTensors.values(vCache), "host value cache is current");
        }
    }

    @Test
    void cachesAreUploadedOnceAndKeptCurrentOnTheHost() {
        Random rnd = new Random(7);
        AttentionGraph chunk = AttentionGraph.of(4);
        AttentionGraph step = AttentionGraph.of(1);
        try (Arena arena = Arena.ofConfined();
             CompiledGraph gChunk = vk.device.compile(chunk.graph());
             CompiledGraph gStep = vk.device.compile(step.graph())) {
            Tensor kCache = TestTensors.random(arena, "k_cache", Shape.of(CONTEXT, KV_WIDTH), rnd);
            Tensor vCache = TestTensors.random(arena, "v_cache", Shape.of(CONTEXT, KV_WIDTH), rnd);
            long before = vk.device.stateUploadBytes();
            chunk.step(gChunk, arena, rnd, new int[] {0, 1, 2, -1}, kCache, vCache);
            assertEquals(before + kCache.byteSize() + vCache.byteSize(), vk.device.stateUploadBytes(), "first binding uploads");
            for (int p = 3; p < 8; p++) {
                step.step(gStep, arena, rnd, new int[] {p}, kCache, vCache);
            }
            chunk.step(gChunk, arena, rnd, new int[] {-1, 8, 9, 10}, kCache, vCache);
            assertEquals(before + kCache.byteSize() + vCache.byteSize(), vk.device.stateUploadBytes(),
                    "later executions and the other graph use the resident copy");
        }
    }

    @Test
    void aForgottenCopyIsUploadedAgainWithTheHostChanges() {
        Random rnd = new Random(8);
        AttentionGraph step = AttentionGraph.of(1);
        try (Arena arena = Arena.ofConfined(); CompiledGraph g = vk.device.compile(step.graph())) {
            Tensor kCache = TestTensors.random(arena, "k_cache", Shape.of(CONTEXT, KV_WIDTH), rnd);
            Tensor vCache = TestTensors.random(arena, "v_cache", Shape.of(CONTEXT, KV_WIDTH), rnd);
            step.step(g, arena, rnd, new int[] {3}, kCache, vCache);
            // Another device (or the host) rewrites history: the device must be told.
            for (long i = 0; i < kCache.shape().elements(); i++) {
                kCache.setFloat(i, kCache.getFloat(i) * -2);
            }
            assertTrue(vk.device.forgetResidentState(kCache));
            assertFalse(vk.device.forgetResidentState(kCache), "nothing left to forget");
            step.step(g, arena, rnd, new int[] {4}, kCache, vCache);
        }
    }

    @Test
    void copiesOfClosedMemoryAreDropped() {
        Random rnd = new Random(9);
        AttentionGraph step = AttentionGraph.of(1);
        try (CompiledGraph g = vk.device.compile(step.graph())) {
            try (Arena arena = Arena.ofConfined()) {
                Tensor kCache = Tensor.allocate(arena, "k_cache", DType.F32, Shape.of(CONTEXT, KV_WIDTH));
                Tensor vCache = Tensor.allocate(arena, "v_cache", DType.F32, Shape.of(CONTEXT, KV_WIDTH));
                step.step(g, arena, rnd, new int[] {0}, kCache, vCache);
                assertEquals(2, vk.device.residentStates(), "copies of closed memory of earlier tests went at this binding");
            }
            try (Arena arena = Arena.ofConfined()) {
                Tensor kCache = Tensor.allocate(arena, "k_cache", DType.F32, Shape.of(CONTEXT, KV_WIDTH));
                Tensor vCache = Tensor.allocate(arena, "v_cache", DType.F32, Shape.of(CONTEXT, KV_WIDTH));
                step.step(g, arena, rnd, new int[] {0}, kCache, vCache);
                assertEquals(2, vk.device.residentStates(), "the closed arena's copies went");
            }
        }
    }

    @Test
    void badPositionsAndSharedCachesAreRefusedAndTheGraphRunsOn() {
        Random rnd = new Random(10);
        AttentionGraph step = AttentionGraph.of(2);
        try (Arena arena = Arena.ofConfined(); CompiledGraph g = vk.device.compile(step.graph())) {
            Tensor kCache = Tensor.allocate(arena, "k_cache", DType.F32, Shape.of(CONTEXT, KV_WIDTH));
            Tensor vCache = Tensor.allocate(arena, "v_cache", DType.F32, Shape.of(CONTEXT, KV_WIDTH));
            Map<Value, Tensor> b = new HashMap<>();
            b.put(step.q(), TestTensors.random(arena, "q", step.q().shape(), rnd));
            b.put(step.k(), TestTensors.random(arena, "k", step.k().shape(), rnd));
            b.put(step.v(), TestTensors.random(arena, "v", step.v().shape(), rnd));
            b.put(step.positions(), TestTensors.ints(arena, "positions", 0, CONTEXT));
            b.put(step.kCache(), kCache);
            b.put(step.vCache(), vCache);
            b.put(step.out(), Tensor.allocate(arena, "out", DType.F32, step.out().shape()));
            BackendException beyond = assertThrows(BackendException.class, () -> g.execute(b));
            assertTrue(beyond.getMessage().contains("beyond the KV cache"), beyond.getMessage());
            b.put(step.positions(), TestTensors.ints(arena, "positions", 0, 1));
            b.put(step.vCache(), kCache);
            BackendException shared = assertThrows(BackendException.class, () -> g.execute(b));
            assertTrue(shared.getMessage().contains("overlapping memory"), shared.getMessage());
            step.step(g, arena, rnd, new int[] {0, 1}, kCache, vCache);
        }
    }
}
