package io.llmnpu.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.api.graph.Op;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The chunked task DAG: the same segments per chunk, chunks linked only through the KV cache, the head last. */
class ChunkDagTest {
    private static final SyntheticGraphs.Shape5 SMALL = new SyntheticGraphs.Shape5(64, 128, 3, 4, 2, 100);

    @Test
    void chunksMeetOnlyAtTheKvCacheAndTheHeadFollowsTheLastChunk() {
        List<Placement.Candidate> devices = List.of(
                new Placement.Candidate("npu", FakeDevice.int8Only("npu", 1e-3)),
                new Placement.Candidate("cpu", FakeDevice.floats("cpu", DeviceKind.CPU, 1e-5)));
        SubgraphPlacer placer = new SubgraphPlacer();
        Placement body = placer.place(SyntheticGraphs.body(SMALL, 16, 64, l -> true, l -> l != 1), devices);
        Placement head = placer.place(SyntheticGraphs.head(SMALL, 1), devices);
        int chunks = 3;
        ChunkDag dag = ChunkDag.build(body, chunks, head, ChunkDag.Heads.LAST_CHUNK);
        TaskGraph g = dag.graph();
        assertEquals(chunks * body.segments().size() + head.segments().size(), g.size());
        int crossLinks = 0;
        for (int t = 0; t < g.size(); t++) {
            ChunkDag.Piece piece = dag.piece(t);
            assertEquals(piece.chunk(), g.task(t).chunk());
            for (int p : g.predecessors(t)) {
                ChunkDag.Piece before = dag.piece(p);
                if (before.chunk() != piece.chunk()) {
                    crossLinks++;
                    assertEquals(piece.chunk() - 1, before.chunk());
                    assertTrue(hasAttention(piece.segment()) && hasAttention(before.segment()),
                            "only the KV cache links chunks: " + g.task(t).describe() + " after " + g.task(p).describe());
                    assertEquals(piece.segment().index(), before.segment().index(), "the same layer's attention");
                }
            }
        }
        // Both caches of a layer are touched by the one attention segment of that layer: one link per layer.
        assertEquals(SMALL.layers() * (chunks - 1), crossLinks);
        int last = g.size() - 1;
        assertTrue(dag.piece(last).head());
        assertEquals(TaskKind.LOGITS, g.task(last).kind());
        assertEquals(chunks - 1, dag.piece(last).chunk());
        int producer = g.predecessors(last)[0];
        assertTrue(dag.piece(producer).segment().graph().outputs().stream().anyMatch(v -> v.name().equals("hidden")));
        var costs = dag.costs();
        for (int t = 0; t < g.size(); t++) {
            assertEquals(1, (costs.allowed(t, 0) ? 1 : 0) + (costs.allowed(t, 1) ? 1 : 0), "a task runs where it was placed");
        }
    }

    @Test
    void everyChunkGetsAHeadWhenScoring() {
        List<Placement.Candidate> devices = List.of(new Placement.Candidate("cpu", FakeDevice.floats("cpu", DeviceKind.CPU, 1e-5)));
        SubgraphPlacer placer = new SubgraphPlacer();
        Placement body = placer.place(SyntheticGraphs.body(SMALL, 16, 64, l -> false, l -> false), devices);
        Placement head = placer.place(SyntheticGraphs.head(SMALL, 16), devices);
        ChunkDag dag = ChunkDag.build(body, 4, head, ChunkDag.Heads.EVERY_CHUNK);
        assertEquals(8, dag.graph().size(), "one body and one head task per chunk");
        for (int c = 0; c < 4; c++) {
            assertTrue(dag.piece(2 * c + 1).head());
            assertEquals(c, dag.piece(2 * c + 1).chunk());
        }
        assertEquals(4, ChunkDag.build(body, 4, null, ChunkDag.Heads.NONE).graph().size());
        assertThrows(IllegalArgumentException.class, () -> ChunkDag.build(body, 0, head, ChunkDag.Heads.NONE));
    }

    private static boolean hasAttention(Placement.Segment s) {
        return s.graph().ops().stream().anyMatch(op -> op instanceof Op.Attention);
    }
}
