package io.llmnpu.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PrefillDagTest {
    private static final ModelShape QWEN = ModelShape.QWEN1_5_1_8B;

    @Test
    void qwenPromptOf1024TokensHasFourChunksAndTheExpectedTasks() {
        PrefillDag dag = PrefillDag.build(QWEN, 1024, 256, ShadowOutliers.paperDefault());
        assertEquals(4, dag.chunks());
        assertEquals(256, dag.chunkRows());
        int shadowLayers = 4;                        // round(0.15 * 24)
        assertEquals(shadowLayers, ShadowOutliers.paperDefault().keptLayers(24));
        int expected = 4 * 24 * 3 + 4 * shadowLayers * 2 + 1;
        assertEquals(expected, dag.graph().size());
    }

    @ParameterizedTest
    @CsvSource({"1, 256, 16, 1", "16, 256, 16, 1", "17, 256, 32, 1", "100, 256, 128, 1", "255, 256, 256, 1",
            "256, 256, 256, 1", "257, 256, 256, 2", "1000, 256, 256, 4", "1024, 128, 128, 8", "5, 8, 8, 1"})
    void chunksHaveStaticRowsLikeTheRuntimeChunkPlanner(int tokens, int chunk, int rows, int chunks) {
        PrefillDag dag = PrefillDag.build(new ModelShape(64, 128, 2, 4, 2, 100), tokens, chunk, ShadowOutliers.none());
        assertEquals(rows, dag.chunkRows());
        assertEquals(chunks, dag.chunks());
    }

    @Test
    void everyEdgeIsATrueDataDependencyAndAllOfThemArePresent() {
        ModelShape shape = new ModelShape(256, 512, 5, 8, 2, 1000);
        PrefillDag dag = PrefillDag.build(shape, 700, 128, ShadowOutliers.allLayers(8));
        TaskGraph g = dag.graph();
        int chunks = dag.chunks();
        assertEquals(6, chunks);
        int expectedEdges = 0;
        for (int c = 0; c < chunks; c++) {
            for (int l = 0; l < shape.layers(); l++) {
                int qkv = dag.id(c, l, TaskKind.QKV);
                int qkvShadow = dag.id(c, l, TaskKind.QKV_SHADOW);
                int att = dag.id(c, l, TaskKind.ATTENTION);
                int out = dag.id(c, l, TaskKind.OUTPUT_FFN);
                int outShadow = dag.id(c, l, TaskKind.OUTPUT_FFN_SHADOW);
                if (l > 0) {
                    int prevOut = dag.id(c, l - 1, TaskKind.OUTPUT_FFN);
                    int prevShadow = dag.id(c, l - 1, TaskKind.OUTPUT_FFN_SHADOW);
                    for (int t : new int[] {qkv, qkvShadow}) {
                        assertTrue(g.dependsOn(t, prevOut));
                        assertTrue(g.dependsOn(t, prevShadow));
                    }
                    expectedEdges += 4;
                } else {
                    assertEquals(0, g.predecessorCount(qkv));
                    assertEquals(0, g.predecessorCount(qkvShadow));
                }
                for (int earlier = 0; earlier < chunks; earlier++) {
                    boolean needed = earlier <= c;       // keys and values of this and every earlier chunk
                    assertEquals(needed, g.dependsOn(att, dag.id(earlier, l, TaskKind.QKV)), "att " + c + " qkv " + earlier);
                    assertEquals(needed, g.dependsOn(att, dag.id(earlier, l, TaskKind.QKV_SHADOW)));
                    if (needed) {
                        expectedEdges += 2;
                    }
                }
                assertTrue(g.dependsOn(out, att));
                assertTrue(g.dependsOn(outShadow, att));
                expectedEdges += 2;
            }
        }
        int logits = dag.id(chunks - 1, shape.layers() - 1, TaskKind.LOGITS);
        assertTrue(g.dependsOn(logits, dag.id(chunks - 1, shape.layers() - 1, TaskKind.OUTPUT_FFN)));
        assertTrue(g.dependsOn(logits, dag.id(chunks - 1, shape.layers() - 1, TaskKind.OUTPUT_FFN_SHADOW)));
        expectedEdges += 2;
        assertEquals(expectedEdges, g.edgeCount(), "no edges beyond the data dependencies");
    }

    @Test
    void laterChunksAreNotOrderedAfterEarlierChunksExceptThroughAttention() {
        PrefillDag dag = PrefillDag.build(new ModelShape(64, 128, 3, 4, 4, 50), 64, 16, ShadowOutliers.none());
        TaskGraph g = dag.graph();
        // QKV of chunk 3, layer 0 needs nothing: out-of-order execution may run it first.
        assertEquals(0, g.predecessorCount(dag.id(3, 0, TaskKind.QKV)));
        // The O+FFN of chunk 0 layer 2 is not an ancestor of chunk 1's layer 1 attention.
        assertFalse(reaches(g, dag.id(0, 2, TaskKind.OUTPUT_FFN), dag.id(1, 1, TaskKind.ATTENTION)));
        assertTrue(reaches(g, dag.id(0, 1, TaskKind.QKV), dag.id(1, 1, TaskKind.ATTENTION)));
    }

    private static boolean reaches(TaskGraph g, int from, int to) {
        boolean[] seen = new boolean[g.size()];
        java.util.ArrayDeque<Integer> queue = new java.util.ArrayDeque<>();
        queue.add(from);
        while (!queue.isEmpty()) {
            int t = queue.poll();
            if (t == to) {
                return true;
            }
            for (int s : g.successors(t)) {
                if (!seen[s]) {
                    seen[s] = true;
                    queue.add(s);
                }
            }
        }
        return false;
    }

    @Test
    void int8WorkIsTwiceTheLinearParametersTimesThePaddedTokens() {
        // Qwen1.5-1.8B linear weights per layer: 4 x 2048^2 (q, k, v, o) + 3 x 2048 x 5504 (gate, up, down).
        long paramsPerLayer = 4L * 2048 * 2048 + 3L * 2048 * 5504;
        assertEquals(50_593_792L, paramsPerLayer);
        PrefillDag dag = PrefillDag.build(QWEN, 1000, 256, ShadowOutliers.none());   // padded to 1024 rows
        double int8Ops = 0;
        for (Task t : dag.graph().tasks()) {
            if (t.kind().arithmetic() == Arithmetic.INT8_MATMUL) {
                int8Ops += dag.graph().workload(t.id()).operations();
            }
        }
        assertEquals(2.0 * 1024 * 24 * paramsPerLayer, int8Ops, 1e-9 * int8Ops);
    }

    @Test
    void attentionGrowsWithTheKeysOfEarlierChunks() {
        PrefillDag dag = PrefillDag.build(QWEN, 1024, 256, ShadowOutliers.none());
        double first = dag.graph().workload(dag.id(0, 5, TaskKind.ATTENTION)).operations();
        double last = dag.graph().workload(dag.id(3, 5, TaskKind.ATTENTION)).operations();
        // Q.K^T and P.V over 256 keys: 4 * 256 * 256 * 2048 operations, plus softmax and RoPE.
        assertEquals(4.0 * 256 * 256 * 2048, first, 0.02 * first);
        assertEquals(4.0, last / first, 0.02);
    }

    @Test
    void shadowTasksAreASmallFractionOfTheWork() {
        PrefillDag dag = PrefillDag.build(QWEN, 1024, 256, ShadowOutliers.allLayers(15));
        double shadow = 0;
        double all = 0;
        for (Task t : dag.graph().tasks()) {
            double ops = dag.graph().workload(t.id()).operations();
            all += ops;
            if (t.kind() == TaskKind.QKV_SHADOW || t.kind() == TaskKind.OUTPUT_FFN_SHADOW) {
                shadow += ops;
            }
        }
        assertTrue(shadow > 0 && shadow / all < 0.01, "shadow share " + shadow / all);
    }

    @Test
    void shadowLayersAreSpreadEvenly() {
        assertEquals(java.util.List.of(3, 7, 11, 15, 19, 23), covered(new ShadowOutliers(0.25, 10), 24));
        assertEquals(java.util.List.of(5, 11, 17, 23), covered(ShadowOutliers.paperDefault(), 24));
        assertEquals(java.util.List.of(), covered(ShadowOutliers.none(), 24));
        assertEquals(24, covered(ShadowOutliers.allLayers(3), 24).size());
        assertEquals(java.util.List.of(), covered(new ShadowOutliers(1, 0), 24), "no outlier channels, no shadow tasks");
    }

    private static java.util.List<Integer> covered(ShadowOutliers s, int layers) {
        return java.util.stream.IntStream.range(0, layers).filter(l -> s.covers(l, layers)).boxed().toList();
    }

    @Test
    void rejectsImpossibleInput() {
        assertThrows(IllegalArgumentException.class, () -> PrefillDag.build(QWEN, 0, 256, ShadowOutliers.none()));
        assertThrows(IllegalArgumentException.class, () -> PrefillDag.build(QWEN, 10, 0, ShadowOutliers.none()));
        assertThrows(IllegalArgumentException.class, () -> new ModelShape(100, 10, 1, 3, 3, 10));
        assertThrows(IllegalArgumentException.class, () -> new ModelShape(96, 10, 1, 6, 4, 10));
        assertThrows(IllegalArgumentException.class, () -> new ShadowOutliers(1.5, 3));
        TaskGraph.Builder b = TaskGraph.builder();
        b.add(0, 0, TaskKind.QKV, new Workload(1, 1));
        b.add(0, 0, TaskKind.ATTENTION, new Workload(1, 1));
        assertThrows(IllegalArgumentException.class, () -> b.dependency(1, 0), "backward edges would allow cycles");
        assertThrows(IllegalArgumentException.class, () -> b.dependency(0, 2));
        try {
            b.dependency(0, 1).dependency(0, 1);
        } catch (IllegalArgumentException e) {
            fail("duplicate edges are ignored");
        }
        assertEquals(1, b.build().edgeCount());
    }
}
