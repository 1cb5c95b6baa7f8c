package io.llmnpu.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class PlanReportTest {

    @Test
    void textAndJsonCarryTheScheduleMeasures() throws Exception {
        PlatformProfile machine = new ProfileLoader().builtIn("this-machine-example");
        SyntheticGraphs.Shape5 shape = new SyntheticGraphs.Shape5(256, 688, 4, 8, 4, 512);
        PrefillPlanner.Prefill prefill = new PrefillPlanner.Prefill(
                SyntheticGraphs.body(shape, 64, 320, l -> true, l -> l == 1), SyntheticGraphs.head(shape, 1),
                300, 64, 5, "test model");
        PrefillPlanner.Comparison c = new PrefillPlanner().compare(prefill, machine, Policies.all());
        PlanReport report = c.report();
        assertEquals(Policies.all().size(), report.rows().size());
        String text = report.toText();
        for (SchedulingPolicy p : Policies.all()) {
            assertTrue(text.contains(p.name()), text);
        }
        assertTrue(text.contains("ref-npu %") && text.contains("cpu %"), text);

        JsonNode json = new ObjectMapper().readTree(report.toJson());
        assertEquals("this-machine-example", json.get("platform").asText());
        assertEquals(300, json.get("prompt_tokens").asInt());
        assertEquals(5, json.get("chunks").asInt());
        assertEquals(64, json.get("chunk_rows").asInt());
        for (int i = 0; i < Policies.all().size(); i++) {
            Plan plan = c.plans().get(i);
            Schedule s = plan.schedule();
            JsonNode row = json.get("policies").get(i);
            assertEquals(s.policy(), row.get("policy").asText());
            assertEquals(s.makespan() * 1e3, row.get("makespan_ms").asDouble(), 1e-9);
            assertEquals(s.makespan() / LowerBounds.of(s.graph(), s.costs()).seconds(),
                    row.get("ratio_to_lower_bound").asDouble(), 1e-9);
            assertEquals(s.npuBubbleFraction().orElseThrow(), row.get("npu_bubble").asDouble(), 1e-12);
            assertEquals(s.busyFraction(1), row.get("device_busy").get("cpu").asDouble(), 1e-12);
            assertEquals(300 / s.makespan(), row.get("tokens_per_second").asDouble(), 1e-6);
            assertEquals(1, plan.report().rows().size());
            assertTrue(plan.ganttSvg().startsWith("<?xml"));
        }
        assertEquals("test model", json.get("model").asText());
    }

    @Test
    void bubbleCountsOnlyIdleTimeBetweenFirstStartAndLastEnd() {
        var devices = java.util.List.of(
                new Processor("npu", io.llmnpu.api.backend.DeviceKind.NPU),
                new Processor("cpu", io.llmnpu.api.backend.DeviceKind.CPU));
        TaskGraph g = LowerBoundsTest.independent(3);
        CostTable costs = CostTable.of(devices, new double[][] {{1, 1}, {1, 1}, {1, 1}});
        // NPU runs 1..2 and 3..4 (bubble 1 of span 3); the CPU 0..1 (no NPU) and the run ends at 5.
        Schedule s = new Schedule(g, costs, "hand", java.util.List.of(
                new ScheduledTask(g.task(0), 0, 1, 2), new ScheduledTask(g.task(1), 0, 3, 4),
                new ScheduledTask(g.task(2), 1, 4, 5)));
        assertEquals(1.0 / 3, s.npuBubbleFraction().orElseThrow(), 1e-12);
        assertEquals(5, s.makespan());
        assertEquals(0.4, s.busyFraction(0), 1e-12);
        assertEquals(3, s.idleSeconds(0), 1e-12);
        assertEquals(0, s.bubbleFraction(1).orElseThrow(), 1e-12);
        PlanReport.Row row = PlanReport.Row.of(s);
        assertEquals(0.4, row.npuBusyFraction(), 1e-12);
    }
}
