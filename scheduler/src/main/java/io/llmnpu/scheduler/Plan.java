package io.llmnpu.scheduler;

/**
 * One simulated prefill: the task DAG, the schedule a policy made, its report and its Gantt chart.
 *
 * @param dag      the prefill's task DAG over simulated devices
 * @param schedule the simulated schedule
 * @param report   measures against the lower bound (one row)
 * @param ganttSvg the schedule as an SVG document
 */
public record Plan(ChunkDag dag, Schedule schedule, PlanReport report, String ganttSvg) {
}
