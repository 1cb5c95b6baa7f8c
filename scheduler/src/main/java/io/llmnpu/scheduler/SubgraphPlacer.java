package io.llmnpu.scheduler;

import io.llmnpu.api.backend.Affinity;
import io.llmnpu.api.graph.Op;
import io.llmnpu.api.graph.Subgraph;
import io.llmnpu.api.graph.Value;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Places a graph over devices by what their {@link io.llmnpu.api.backend.Device#affinity} says, and cuts
 * it into segments, one device each, that can run out of order: like ggml's scheduler, which splits a
 * graph where backend support changes, but by cost.
 *
 * <p><b>Which device runs each op.</b> Each op may go to any device that supports it (native or emulated),
 * costed by the device's own estimate. A shortest path over the ops in program order picks the devices:
 * the sum of the op estimates plus a hand-off cost at each change of device (a task launch, data
 * changing hands), so a device only takes a stretch of ops if it saves more than the hand-offs cost. A
 * preferred device (a backend the user named) takes every op it supports. Ties go to the device ranked
 * first.
 *
 * <p><b>Segments.</b> Ops are taken in program order; an op joins the latest segment of its device unless
 * that would make the segment wait for another segment it did not already wait for, or would make work on
 * another device that reads the segment wait for this op. Otherwise it opens a new segment. So the float
 * shadow of an INT8 linear layer lands in a segment of its own beside the NPU's, and the NPU's next layer
 * does not wait for a shadow it does not read. Segment dependencies are the data dependencies between
 * their ops, plus program order between ops that touch the same state (the KV cache).
 */
public final class SubgraphPlacer {
    /** Least hand-off cost charged when consecutive ops change device. */
    public static final double DEFAULT_SWITCH_SECONDS = 50e-6;
    private static final Pattern LAYER = Pattern.compile("(?:^|\\.)blk\\.(\\d+)\\.");

    private final double switchSeconds;

    public SubgraphPlacer() {
        this(DEFAULT_SWITCH_SECONDS);
    }

    public SubgraphPlacer(double switchSeconds) {
        if (!(switchSeconds >= 0)) {
            throw new IllegalArgumentException("switch cost must be >= 0, got " + switchSeconds);
        }
        this.switchSeconds = switchSeconds;
    }

    /** Thrown when some op of a graph is supported by none of the devices. */
    public static final class UnplaceableException extends IllegalStateException {
        public UnplaceableException(String message) {
            super(message);
        }
    }

    /**
     * Places {@code graph} over {@code devices} (in rank order).
     *
     * @throws UnplaceableException naming the first op no device supports
     */
    public Placement place(Subgraph graph, List<Placement.Candidate> devices) {
        if (devices.isEmpty()) {
            throw new UnplaceableException("no device to run " + graph.name() + " on");
        }
        List<Op> ops = graph.ops();
        int n = ops.size();
        int m = devices.size();
        double[][] cost = new double[n][m];
        for (int i = 0; i < n; i++) {
            boolean any = false;
            boolean preferred = false;
            for (int d = 0; d < m; d++) {
                Placement.Candidate c = devices.get(d);
                Affinity a = c.device().affinity(ops.get(i));
                double s = a.isSupported() ? a.estimatedSeconds() : Double.POSITIVE_INFINITY;
                if (a.isSupported() && !(s >= 0 && s < Double.POSITIVE_INFINITY)) {
                    s = Double.MAX_VALUE / 4;   // supported but priced nonsense: last resort
                }
                cost[i][d] = s;
                any |= a.isSupported();
                preferred |= a.isSupported() && c.preferred();
            }
            if (preferred) {           // a preferred device that runs the op takes it: the others are out
                for (int d = 0; d < m; d++) {
                    if (!devices.get(d).preferred()) {
                        cost[i][d] = Double.POSITIVE_INFINITY;
                    }
                }
            }
            if (!any) {
                throw new UnplaceableException("no device runs " + ops.get(i).getClass().getSimpleName() + " (in "
                        + graph.name() + "); devices: " + devices.stream().map(Placement.Candidate::name).toList());
            }
        }
        int[] device = chooseDevices(cost, devices);
        return segment(graph, devices, device, cost);
    }

    /** The cheapest device per op, counting a hand-off at every change: a shortest path over (op, device). */
    private int[] chooseDevices(double[][] cost, List<Placement.Candidate> devices) {
        int n = cost.length;
        int m = devices.size();
        int[] choice = new int[n];
        if (n == 0) {
            return choice;
        }
        double[][] best = new double[n][m];
        int[][] from = new int[n][m];
        for (int d = 0; d < m; d++) {
            best[0][d] = cost[0][d];
        }
        for (int i = 1; i < n; i++) {
            for (int d = 0; d < m; d++) {
                best[i][d] = Double.POSITIVE_INFINITY;
                from[i][d] = -1;
                if (cost[i][d] == Double.POSITIVE_INFINITY) {
                    continue;
                }
                double hop = Math.max(switchSeconds, devices.get(d).launchSeconds());
                for (int p = 0; p < m; p++) {
                    double via = best[i - 1][p] + (p == d ? 0 : hop);
                    if (less(via, best[i][d])) {
                        best[i][d] = via;
                        from[i][d] = p;
                    }
                }
                best[i][d] += cost[i][d];
            }
        }
        int last = 0;
        for (int d = 1; d < m; d++) {
            if (less(best[n - 1][d], best[n - 1][last])) {
                last = d;
            }
        }
        for (int i = n - 1; i >= 0; i--) {
            choice[i] = last;
            last = i > 0 ? from[i][last] : last;
        }
        return choice;
    }

    /** Strictly smaller beyond rounding: equal costs keep the earlier (better ranked) device. */
    private static boolean less(double a, double b) {
        return b == Double.POSITIVE_INFINITY ? a < b : a < b - 1e-12 * Math.max(1, Math.abs(b));
    }

    private Placement segment(Subgraph graph, List<Placement.Candidate> devices, int[] device, double[][] cost) {
        List<Op> ops = graph.ops();
        int n = ops.size();
        Map<Integer, Integer> producer = new HashMap<>();
        for (int i = 0; i < n; i++) {
            for (Value v : ops.get(i).outputs()) {
                producer.put(v.id(), i);
            }
        }
        Set<Value> state = new LinkedHashSet<>();
        for (Op op : ops) {
            state.addAll(op.updatedInPlace());
        }
        // Op-level dependencies: data, and program order among ops touching the same state.
        List<TreeSet<Integer>> preds = new ArrayList<>();
        List<List<Integer>> consumers = new ArrayList<>();
        Map<Integer, Integer> lastStateUser = new HashMap<>();
        for (int i = 0; i < n; i++) {
            preds.add(new TreeSet<>());
            consumers.add(new ArrayList<>());
        }
        for (int i = 0; i < n; i++) {
            for (Value v : ops.get(i).inputs()) {
                Integer p = producer.get(v.id());
                if (p != null && p != i) {
                    preds.get(i).add(p);
                    consumers.get(p).add(i);
                }
                if (state.contains(v)) {
                    Integer before = lastStateUser.put(v.id(), i);
                    if (before != null && before != i) {
                        preds.get(i).add(before);
                        consumers.get(before).add(i);
                    }
                }
            }
        }
        BitSet[] ancestors = new BitSet[n];
        for (int i = 0; i < n; i++) {
            ancestors[i] = new BitSet(n);
            for (int p : preds.get(i)) {
                ancestors[i].set(p);
                ancestors[i].or(ancestors[p]);
            }
        }

        List<Draft> drafts = new ArrayList<>();
        int[] segmentOf = new int[n];
        int[] latest = new int[devices.size()];
        java.util.Arrays.fill(latest, -1);
        for (int i = 0; i < n; i++) {
            int d = device[i];
            Set<Integer> needs = new TreeSet<>();
            for (int p : preds.get(i)) {
                needs.add(segmentOf[p]);
            }
            Draft s = latest[d] < 0 ? null : drafts.get(latest[d]);
            if (s == null || !canJoin(s, i, needs, device, consumers, ancestors, ops)) {
                s = new Draft(drafts.size(), d);
                for (int q : needs) {
                    s.predecessors.add(q);
                    s.ancestors.set(q);
                    s.ancestors.or(drafts.get(q).ancestors);
                }
                drafts.add(s);
                latest[d] = s.index;
            }
            s.ops.add(i);
            segmentOf[i] = s.index;
        }
        return build(graph, devices, drafts, segmentOf, cost, state);
    }

    /**
     * Whether op {@code i} may join segment {@code s}: everything it waits for the segment already waits
     * for (or is the segment), and no op on another device that reads the segment is kept waiting by it.
     */
    private static boolean canJoin(Draft s, int i, Set<Integer> needs, int[] device, List<List<Integer>> consumers,
                                   BitSet[] ancestors, List<Op> ops) {
        for (int q : needs) {
            if (q != s.index && !s.ancestors.get(q)) {
                return false;
            }
        }
        for (int member : s.ops) {
            for (int reader : consumers.get(member)) {
                if (device[reader] != s.device && reader != i && !ancestors[reader].get(i)) {
                    return false;
                }
            }
        }
        return true;
    }

    private Placement build(Subgraph graph, List<Placement.Candidate> devices, List<Draft> drafts, int[] segmentOf,
                            double[][] cost, Set<Value> state) {
        List<Op> ops = graph.ops();
        Set<Value> graphOutputs = new LinkedHashSet<>(graph.outputs());
        // Values read by a segment other than their producer's.
        Map<Integer, Integer> producerSegment = new HashMap<>();
        for (int i = 0; i < ops.size(); i++) {
            for (Value v : ops.get(i).outputs()) {
                producerSegment.put(v.id(), segmentOf[i]);
            }
        }
        Set<Integer> crossing = new java.util.HashSet<>();
        for (int i = 0; i < ops.size(); i++) {
            for (Value v : ops.get(i).inputs()) {
                Integer p = producerSegment.get(v.id());
                if (p != null && p != segmentOf[i]) {
                    crossing.add(v.id());
                }
            }
        }
        List<Placement.Segment> segments = new ArrayList<>();
        int previousLayer = 0;
        for (Draft d : drafts) {
            Set<Value> inputs = new LinkedHashSet<>();
            Set<Integer> produced = new java.util.HashSet<>();
            List<Op> mine = new ArrayList<>();
            List<Value> outputs = new ArrayList<>();
            double seconds = devices.get(d.device).launchSeconds();
            for (int i : d.ops) {
                Op op = ops.get(i);
                mine.add(op);
                seconds += cost[i][d.device];
                for (Value v : op.inputs()) {
                    if (!produced.contains(v.id())) {
                        inputs.add(v);
                    }
                }
                for (Value v : op.outputs()) {
                    produced.add(v.id());
                    if (crossing.contains(v.id()) || graphOutputs.contains(v)) {
                        outputs.add(v);
                    }
                }
            }
            String name = drafts.size() == 1 ? graph.name() : graph.name() + "#" + d.index + " " + describe(mine);
            Subgraph piece = new Subgraph(name, List.copyOf(inputs), mine, outputs);
            int layer = layerOf(mine, previousLayer);
            previousLayer = layer;
            segments.add(new Placement.Segment(d.index, piece, d.device, kindOf(mine), layer,
                    d.predecessors.stream().mapToInt(Integer::intValue).sorted().toArray(), seconds));
        }
        return new Placement(graph, devices, segments, state);
    }

    private static String describe(List<Op> ops) {
        String first = ops.getFirst().outputs().getFirst().name();
        String last = ops.getLast().outputs().getFirst().name();
        return ops.size() == 1 ? first : first + ".." + last;
    }

    /** The layer named by the first {@code blk.N.} value the ops produce, else {@code fallback}. */
    static int layerOf(List<Op> ops, int fallback) {
        for (Op op : ops) {
            for (Value v : op.outputs()) {
                Matcher m = LAYER.matcher(v.name());
                if (m.find()) {
                    return Integer.parseInt(m.group(1));
                }
            }
        }
        return fallback;
    }

    /** What a segment mainly does, by the heaviest kind of op it holds. */
    static TaskKind kindOf(List<Op> ops) {
        boolean shadow = false;
        boolean attention = false;
        boolean linear = false;
        for (Op op : ops) {
            switch (op) {
                case Op.QuantizedLinear q -> {
                    return TaskKind.INT8_LINEAR;
                }
                case Op.OutlierShadow s -> shadow = true;
                case Op.Attention a -> attention = true;
                case Op.Linear l -> linear = true;
                default -> {
                }
            }
        }
        return attention ? TaskKind.ATTENTION : shadow ? TaskKind.SHADOW : linear ? TaskKind.FLOAT_LINEAR
                : TaskKind.FLOAT_GLUE;
    }

    /** A segment under construction. */
    private static final class Draft {
        final int index;
        final int device;
        final List<Integer> ops = new ArrayList<>();
        final Set<Integer> predecessors = new TreeSet<>();
        final BitSet ancestors = new BitSet();

        Draft(int index, int device) {
            this.index = index;
            this.device = device;
        }
    }
}
