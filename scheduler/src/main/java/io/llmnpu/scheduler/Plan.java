package io.llmnpu.scheduler;

/**
 * One scheduled prefill: the graph, the schedule a policy made, its report and its Gantt chart.
 *
 * @param dag      the prefill graph
 * @param schedule the simulated schedule
 * @param report   measures against the lower bound (one row)
 * @param ganttSvg the schedule as an SVG document
 */
public record Plan(PrefillDag dag, Schedule schedule, PlanReport report, String ganttSvg) {
}
