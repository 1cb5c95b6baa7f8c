package io.llmnpu.scheduler;

import io.llmnpu.api.graph.Value;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The task DAG of a chunked run: the segments of a placed body graph once per chunk, then the segments
 * of the placed head. Every chunk runs the same segments (the same static graphs, compiled once); what
 * differs is the tensors bound to them.
 *
 * <p>Dependencies: within a chunk, those between the body's segments; across chunks, state (the KV
 * cache): the first segment of chunk c that touches a state value waits for the last segment of chunk
 * c-1 that touched it, whose rows it reads. Nothing else orders chunks, so chunk c+1 may run its first
 * layers while chunk c is still deep in the model: out-of-order execution across chunks. Head segments
 * read the body's outputs by name (the final hidden state) and wait for the body segments that write
 * them. Task ids are a topological order: chunk by chunk, a chunk's head right after it.
 */
public final class ChunkDag {

    /** Which chunks get the head. */
    public enum Heads {
        /** None: the caller wants only the body's outputs (calibration). */
        NONE,
        /** After the last chunk only: the logits of the prompt's last position. */
        LAST_CHUNK,
        /** After every chunk: logits of every position (scoring). */
        EVERY_CHUNK
    }

    /**
     * What one task runs.
     *
     * @param chunk   the chunk
     * @param head    whether it is a segment of the head rather than of the body
     * @param segment the segment
     */
    public record Piece(int chunk, boolean head, Placement.Segment segment) {
    }

    private final Placement body;
    private final Placement head;
    private final int chunks;
    private final Heads heads;
    private final TaskGraph graph;
    private final List<Piece> pieces;

    private ChunkDag(Placement body, Placement head, int chunks, Heads heads) {
        if (chunks < 1) {
            throw new IllegalArgumentException("a run needs at least one chunk, got " + chunks);
        }
        if (heads != Heads.NONE) {
            if (head == null) {
                throw new IllegalArgumentException("heads requested but no head graph placed");
            }
            if (!head.devices().stream().map(Placement.Candidate::name).toList()
                    .equals(body.devices().stream().map(Placement.Candidate::name).toList())) {
                throw new IllegalArgumentException("body and head must be placed over the same devices");
            }
        }
        this.body = body;
        this.head = head;
        this.chunks = chunks;
        this.heads = heads;
        this.pieces = new ArrayList<>();
        this.graph = buildGraph();
    }

    public static ChunkDag build(Placement body, int chunks, Placement head, Heads heads) {
        return new ChunkDag(body, head, chunks, heads);
    }

    private TaskGraph buildGraph() {
        TaskGraph.Builder b = TaskGraph.builder();
        List<Placement.Segment> segs = body.segments();
        Map<Value, int[]> stateSpan = new HashMap<>();   // state value -> {first, last} segment touching it
        for (Value v : body.state()) {
            List<Placement.Segment> touching = body.touching(v);
            if (!touching.isEmpty()) {
                stateSpan.put(v, new int[] {touching.getFirst().index(), touching.getLast().index()});
            }
        }
        Map<String, Integer> bodyOutputSegment = new HashMap<>();
        for (Placement.Segment s : segs) {
            for (Value v : s.graph().outputs()) {
                bodyOutputSegment.put(v.name(), s.index());
            }
        }
        int[] previousChunk = null;
        for (int c = 0; c < chunks; c++) {
            int[] ids = new int[segs.size()];
            for (Placement.Segment s : segs) {
                int id = b.add(c, s.layer(), s.kind(), s.graph().name());
                pieces.add(new Piece(c, false, s));
                ids[s.index()] = id;
                for (int p : s.predecessors()) {
                    b.dependency(ids[p], id);
                }
            }
            if (previousChunk != null) {
                for (int[] span : stateSpan.values()) {
                    b.dependency(previousChunk[span[1]], ids[span[0]]);
                }
            }
            boolean withHead = heads == Heads.EVERY_CHUNK || heads == Heads.LAST_CHUNK && c == chunks - 1;
            if (withHead) {
                addHead(b, c, ids, bodyOutputSegment);
            }
            previousChunk = ids;
        }
        return b.build();
    }

    private void addHead(TaskGraph.Builder b, int chunk, int[] bodyIds, Map<String, Integer> bodyOutputSegment) {
        int lastLayer = body.segments().stream().mapToInt(Placement.Segment::layer).max().orElse(0);
        int[] ids = new int[head.segments().size()];
        for (Placement.Segment s : head.segments()) {
            int id = b.add(chunk, lastLayer, TaskKind.LOGITS, s.graph().name());
            pieces.add(new Piece(chunk, true, s));
            ids[s.index()] = id;
            for (int p : s.predecessors()) {
                b.dependency(ids[p], id);
            }
            for (Value v : s.graph().inputs()) {
                if (head.graph().inputs().contains(v)) {
                    Integer producer = bodyOutputSegment.get(v.name());
                    if (producer == null) {
                        throw new IllegalArgumentException("head input " + v.name() + " is no output of the body "
                                + body.graph().name());
                    }
                    b.dependency(bodyIds[producer], id);
                }
            }
        }
    }

    public TaskGraph graph() {
        return graph;
    }

    public Placement body() {
        return body;
    }

    /** The placed head, or null when the run has none. */
    public Placement head() {
        return head;
    }

    public int chunks() {
        return chunks;
    }

    public Heads heads() {
        return heads;
    }

    /** What task {@code id} runs. */
    public Piece piece(int id) {
        return pieces.get(id);
    }

    /** The lanes of the run: the candidates the graphs were placed over. */
    public List<Processor> processors() {
        return body.devices().stream().map(Placement.Candidate::processor).toList();
    }

    /** Each task's device (the one it was placed on). */
    public int device(int task) {
        return pieces.get(task).segment().device();
    }

    /** Estimated seconds of each task on the device it was placed on, +infinity on every other device. */
    public CostTable costs() {
        int devices = body.devices().size();
        double[][] s = new double[graph.size()][devices];
        for (int t = 0; t < graph.size(); t++) {
            Arrays.fill(s[t], Double.POSITIVE_INFINITY);
            Placement.Segment seg = pieces.get(t).segment();
            s[t][seg.device()] = seg.estimatedSeconds();
        }
        return CostTable.of(processors(), s);
    }
}
