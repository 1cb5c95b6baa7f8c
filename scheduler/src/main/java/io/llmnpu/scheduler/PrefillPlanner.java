package io.llmnpu.scheduler;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Entry point for planning a prefill: builds the graph for a model shape and prompt, estimates
 * costs on a platform, applies the placement, simulates policies, and reports them against the
 * lower bound with Gantt charts.
 */
public final class PrefillPlanner {
    private final ShadowOutliers shadow;
    private final PlacementRule placement;
    private final CostEstimator estimator = new CostEstimator();
    private final Simulator simulator = new Simulator();
    private final ScheduleValidator validator = new ScheduleValidator();
    private final GanttSvg gantt = new GanttSvg();

    /** llm.npu's setting: shadow outliers in 15% of layers, placement by affinity. */
    public PrefillPlanner() {
        this(ShadowOutliers.paperDefault(), PlacementRule.AFFINITY);
    }

    public PrefillPlanner(ShadowOutliers shadow, PlacementRule placement) {
        this.shadow = shadow;
        this.placement = placement;
    }

    /** Plans one prefill with one policy. */
    public Plan plan(ModelShape shape, int promptTokens, int chunkSize, PlatformProfile profile, SchedulingPolicy policy) {
        return compare(shape, promptTokens, chunkSize, profile, List.of(policy)).plans().getFirst();
    }

    /** Plans one prefill with each policy; the combined report has one row per policy. */
    public Comparison compare(ModelShape shape, int promptTokens, int chunkSize, PlatformProfile profile,
                              List<SchedulingPolicy> policies) {
        PrefillDag dag = PrefillDag.build(shape, promptTokens, chunkSize, shadow);
        TaskGraph graph = dag.graph();
        CostTable supported = estimator.estimate(graph, profile);
        CostTable costs = placement.apply(graph, supported);
        LowerBound bound = LowerBounds.of(graph, costs);
        double anyDevice = LowerBounds.of(graph, supported).seconds();
        List<String> devices = profile.devices().stream().map(DeviceProfile::name).toList();
        String subtitle = String.format(Locale.ROOT, "%s, %d tokens in %d x %d, %d layers, lower bound %.3f ms",
                profile.name(), promptTokens, dag.chunks(), dag.chunkRows(), shape.layers(), bound.seconds() * 1e3);
        List<Plan> plans = new ArrayList<>();
        List<PlanReport.Row> rows = new ArrayList<>();
        for (SchedulingPolicy policy : policies) {
            Schedule schedule = simulator.run(graph, costs, policy);
            validator.check(schedule);
            PlanReport.Row row = PlanReport.Row.of(schedule);
            rows.add(row);
            PlanReport single = report(profile, dag, bound, anyDevice, devices, List.of(row));
            plans.add(new Plan(dag, schedule, single, gantt.render(schedule, subtitle)));
        }
        return new Comparison(report(profile, dag, bound, anyDevice, devices, rows), plans);
    }

    private PlanReport report(PlatformProfile profile, PrefillDag dag, LowerBound bound, double anyDevice,
                              List<String> devices, List<PlanReport.Row> rows) {
        return new PlanReport(profile.name(), dag.shape(), dag.promptTokens(), dag.chunkRows(), dag.chunks(),
                dag.graph().size(), placement, bound, anyDevice, devices, rows);
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
