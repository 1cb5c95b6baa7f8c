package io.llmnpu.scheduler;

import io.llmnpu.api.backend.Device;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * A graph cut into segments, each on one device: the result of {@link SubgraphPlacer#place}. Segments
 * are listed in a topological order (every predecessor has a smaller index). A segment reads graph
 * inputs, state (values an op updates in place, such as KV caches) and outputs of earlier segments; it
 * writes values that later segments or the caller read (the graph's outputs).
 *
 * @param graph    the graph placed
 * @param devices  the candidates it was placed over, in rank order; a segment's {@code device} indexes this list
 * @param segments the pieces, in topological order
 * @param state    graph inputs that ops update in place
 */
public record Placement(Subgraph graph, List<Candidate> devices, List<Segment> segments, Set<Value> state) {

    public Placement {
        devices = List.copyOf(devices);
        segments = List.copyOf(segments);
        state = Set.copyOf(state);
    }

    /**
     * A device the placer may use.
     *
     * @param name         how logs and charts name it, e.g. {@code npu-ref/npu0}
     * @param device       the device, asked for its {@link Device#affinity}
     * @param preferred    whether it takes every op it supports, whatever the cost (a backend the user named)
     * @param launchSeconds fixed cost of one task on it, added to each segment's estimate (0 for real
     *                     devices, whose measured rates include it)
     */
    public record Candidate(String name, Device device, boolean preferred, double launchSeconds) {
        public Candidate {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(device, "device");
            if (!(launchSeconds >= 0) || Double.isInfinite(launchSeconds)) {
                throw new IllegalArgumentException("launch cost must be finite and >= 0, got " + launchSeconds);
            }
        }

        public Candidate(String name, Device device) {
            this(name, device, false, 0);
        }

        /** The lane this candidate is in a schedule. */
        public Processor processor() {
            return new Processor(name, device.kind());
        }
    }

    /**
     * One piece of the graph on one device.
     *
     * @param index            position in {@link #segments()}
     * @param graph            the ops of the piece as a graph of their own
     * @param device           index into {@link #devices()}
     * @param kind             what it mainly does
     * @param layer            the transformer layer it belongs to (from its values' {@code blk.N.} names)
     * @param predecessors     segments it reads from or must follow on shared state, ascending
     * @param estimatedSeconds its time on its device: the sum of its ops' affinity estimates plus the launch cost
     */
    public record Segment(int index, Subgraph graph, int device, TaskKind kind, int layer, int[] predecessors,
                          double estimatedSeconds) {
        public Segment {
            predecessors = predecessors.clone();
        }

        @Override
        public int[] predecessors() {
            return predecessors.clone();
        }

        /** Whether it reads or writes {@code v}. */
        public boolean touches(Value v) {
            return graph.inputs().contains(v) || graph.outputs().contains(v);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Segment s && s.index == index && s.graph.equals(graph) && s.device == device
                    && s.kind == kind && s.layer == layer && Arrays.equals(s.predecessors, predecessors)
                    && Double.compare(s.estimatedSeconds, estimatedSeconds) == 0;
        }

        @Override
        public int hashCode() {
            return Objects.hash(index, graph.name(), device, kind, layer, Arrays.hashCode(predecessors));
        }

        @Override
        public String toString() {
            return "Segment[" + index + " " + graph.name() + " on " + device + ", " + kind + ", " + graph.ops().size()
                    + " ops, after " + Arrays.toString(predecessors) + "]";
        }
    }

    /** Indices of the devices that run at least one segment, ascending. */
    public int[] devicesUsed() {
        return segments.stream().mapToInt(Segment::device).distinct().sorted().toArray();
    }

    /** The segments that read or write state value {@code v}, in order. */
    public List<Segment> touching(Value v) {
        List<Segment> out = new ArrayList<>();
        for (Segment s : segments) {
            if (s.touches(v)) {
                out.add(s);
            }
        }
        return out;
    }

    /** Values that cross from one segment to another, or leave the graph: what needs a tensor of its own. */
    public Set<Value> boundaryValues() {
        Set<Value> out = new LinkedHashSet<>();
        for (Segment s : segments) {
            out.addAll(s.graph().outputs());
        }
        return out;
    }

    /** Estimated seconds of all segments on each device, by device index. */
    public double[] secondsPerDevice() {
        double[] out = new double[devices.size()];
        for (Segment s : segments) {
            out[s.device()] += s.estimatedSeconds();
        }
        return out;
    }

    /** The index of the device with the most estimated work: the one that "runs" the graph, for one-line summaries. */
    public int mainDevice() {
        double[] per = secondsPerDevice();
        int best = segments.isEmpty() ? 0 : segments.getFirst().device();
        for (int d = 0; d < per.length; d++) {
            if (per[d] > per[best]) {
                best = d;
            }
        }
        return best;
    }
}
