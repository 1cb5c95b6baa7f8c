package io.llmnpu.scheduler;

import io.llmnpu.api.graph.Subgraph;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Plans a prefill on a platform profile without running a kernel: the profile's devices become
 * {@link SimulatedDevice}s, the real graphs are placed over them by {@link SubgraphPlacer} and cut into
 * the same {@link ChunkDag} a real run executes, and the {@link Simulator} runs each policy on the
 * costs the devices' affinities give. Reports every policy against the lower bound, with Gantt charts.
 */
public final class PrefillPlanner {
    private final SubgraphPlacer placer = new SubgraphPlacer();
    private final Simulator simulator = new Simulator();
    private final ScheduleValidator validator = new ScheduleValidator();
    private final GanttSvg gantt = new GanttSvg();

    /**
     * What to plan.
     *
     * @param body         the body graph of one chunk (possibly rewritten for INT8 NPUs)
     * @param head         the LM head on one row, run after the last chunk
     * @param promptTokens prompt length
     * @param chunkRows    rows of the body graph (the chunk size, or a smaller bucket for a short prompt)
     * @param chunks       chunks the prompt is cut into
     * @param model        one line naming the model and graph, for the report
     */
    public record Prefill(Subgraph body, Subgraph head, int promptTokens, int chunkRows, int chunks, String model) {
    }

    /** The profile's devices as placement candidates, in profile order, each with its launch cost. */
    public static List<Placement.Candidate> candidates(List<DeviceProfile> devices) {
        return devices.stream().map(p -> new Placement.Candidate(p.name(), new SimulatedDevice(p), false,
                p.taskOverheadSeconds())).toList();
    }

    /** The task DAG of {@code prefill} placed over {@code devices}. */
    public ChunkDag dag(Prefill prefill, List<DeviceProfile> devices) {
        List<Placement.Candidate> candidates = candidates(devices);
        Placement body = placer.place(prefill.body(), candidates);
        Placement head = placer.place(prefill.head(), candidates);
        return ChunkDag.build(body, prefill.chunks(), head, ChunkDag.Heads.LAST_CHUNK);
    }

    /** Plans {@code prefill} with each policy; the combined report has one row per policy. */
    public Comparison compare(Prefill prefill, PlatformProfile profile, List<SchedulingPolicy> policies) {
        ChunkDag dag = dag(prefill, profile.devices());
        TaskGraph graph = dag.graph();
        CostTable costs = dag.costs();
        LowerBound bound = LowerBounds.of(graph, costs);
        List<String> devices = profile.devices().stream().map(DeviceProfile::name).toList();
        String subtitle = String.format(Locale.ROOT, "%s, %d tokens in %d x %d, lower bound %.3f ms",
                profile.name(), prefill.promptTokens(), prefill.chunks(), prefill.chunkRows(), bound.seconds() * 1e3);
        List<Plan> plans = new ArrayList<>();
        List<PlanReport.Row> rows = new ArrayList<>();
        for (SchedulingPolicy policy : policies) {
            Schedule schedule = simulator.run(graph, costs, policy);
            validator.check(schedule);
            PlanReport.Row row = PlanReport.Row.of(schedule);
            rows.add(row);
            plans.add(new Plan(dag, schedule, report(profile, prefill, graph, bound, devices, List.of(row)),
                    gantt.render(schedule, subtitle)));
        }
        return new Comparison(report(profile, prefill, graph, bound, devices, rows), plans);
    }

    private static PlanReport report(PlatformProfile profile, Prefill prefill, TaskGraph graph, LowerBound bound,
                                     List<String> devices, List<PlanReport.Row> rows) {
        return new PlanReport(profile.name(), prefill.model(), prefill.promptTokens(), prefill.chunkRows(),
                prefill.chunks(), graph.size(), bound, devices, rows);
    }

    /**
     * Several policies on the same prefill.
     *
     * @param report one row per policy
     * @param plans  one plan per policy, in the same order
     */
    public record Comparison(PlanReport report, List<Plan> plans) {
        public Comparison {
            plans = List.copyOf(plans);
        }
    }
}
