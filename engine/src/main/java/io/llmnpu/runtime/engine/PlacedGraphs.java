package io.llmnpu.runtime.engine;

import io.llmnpu.api.backend.Affinity;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Shape;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.scheduler.ChunkDag;
import io.llmnpu.scheduler.Placement;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A body and head placed over the devices of one version of the {@link DevicePlan}, with what running
 * them needs: the task DAG for each chunk count (built once), each segment's raw estimates by op kind
 * (for the cost book), and one set of tensors per chunk index (tokens, positions, and every value that
 * crosses between segments), allocated on first use and reused by every later run. Closing frees the
 * tensors; the engine closes a placement it no longer uses, between runs.
 */
final class PlacedGraphs implements AutoCloseable {
    final Placement body;
    final Placement head;
    final ChunkDag.Heads heads;
    final boolean npu;
    final int version;
    final int rows;
    /** Whether every segment has been compiled on its device (set by the engine, under the plan's lock). */
    boolean compiled;
    /** Runs so far (the engine's, under the plan's lock). */
    int runs;
    private final Arena arena = Arena.ofShared();
    private final Map<Integer, ChunkDag> dags = new HashMap<>();
    private final Map<Placement.Segment, Map<String, Double>> rawByKind = new IdentityHashMap<>();
    private final List<ChunkTensors> chunks = new ArrayList<>();

    PlacedGraphs(Placement body, Placement head, ChunkDag.Heads heads, boolean npu, int version, int rows) {
        this.body = body;
        this.head = head;
        this.heads = heads;
        this.npu = npu;
        this.version = version;
        this.rows = rows;
    }

    @Override
    public void close() {
        chunks.clear();
        arena.close();
    }

    /** The DAG of {@code count} chunks (cached). */
    ChunkDag dag(int count) {
        return dags.computeIfAbsent(count, c -> ChunkDag.build(body, c, head, heads));
    }

    /** Every segment graph, for compiling ahead and releasing. */
    List<Subgraph> graphs() {
        List<Subgraph> out = new ArrayList<>();
        body.segments().forEach(s -> out.add(s.graph()));
        if (head != null) {
            head.segments().forEach(s -> out.add(s.graph()));
        }
        return out;
    }

    /** The device's own estimates of the segment's ops, summed by op kind (the cost book corrects these). */
    Map<String, Double> rawByKind(Placement.Segment segment, Device device) {
        return rawByKind.computeIfAbsent(segment, s -> {
            Map<String, Double> out = new TreeMap<>();
            for (Op op : s.graph().ops()) {
                Affinity a = CostBook.unwrap(device).affinity(op);
                if (a.isSupported()) {
                    out.merge(CostBook.kindOf(op), a.estimatedSeconds(), Double::sum);
                }
            }
            return out;
        });
    }

    /** The tensors of chunk {@code index}. */
    ChunkTensors chunk(int index) {
        while (chunks.size() <= index) {
            chunks.add(new ChunkTensors(chunks.size()));
        }
        return chunks.get(index);
    }

    /** One chunk's tensors: graph inputs of the body, and every value produced by one segment and read elsewhere. */
    final class ChunkTensors {
        final Tensor tokens;
        final Tensor positions;
        /** For a head on the last row only: the row copied out of the body's output. */
        final Tensor headInput;
        private final Map<Value, Tensor> values = new HashMap<>();
        private final Map<String, Tensor> bodyByName = new HashMap<>();
        private final Map<String, Tensor> headByName = new HashMap<>();

        ChunkTensors(int index) {
            tokens = Tensor.allocate(arena, "tokens@" + index, DType.I32, Shape.of(rows));
            positions = Tensor.allocate(arena, "positions@" + index, DType.I32, Shape.of(rows));
            for (Value v : body.boundaryValues()) {
                Tensor t = Tensor.allocate(arena, v.name() + "@" + index, v.dtype(), v.shape());
                values.put(v, t);
                bodyByName.put(v.name(), t);
            }
            Tensor lastRow = null;
            if (head != null) {
                for (Value v : head.graph().inputs()) {
                    Tensor bodyOut = bodyByName.get(v.name());
                    if (bodyOut != null && bodyOut.shape().equals(v.shape())) {
                        values.put(v, bodyOut);          // scoring every row: the head reads the body's tensor
                    } else {
                        lastRow = Tensor.allocate(arena, v.name() + "-row@" + index, v.dtype(), v.shape());
                        values.put(v, lastRow);
                    }
                }
                for (Value v : head.boundaryValues()) {
                    Tensor t = Tensor.allocate(arena, v.name() + "@" + index, v.dtype(), v.shape());
                    values.putIfAbsent(v, t);
                    headByName.put(v.name(), values.get(v));
                }
            }
            headInput = lastRow;
        }

        Tensor value(Value v) {
            return values.get(v);
        }

        /** A body output or head output by name: what a caller reads back after a run (outputs, logits). */
        Tensor byName(String name) {
            Tensor t = bodyByName.get(name);
            return t != null ? t : headByName.get(name);
        }
    }
}
