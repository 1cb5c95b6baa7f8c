package io.llmnpu.scheduler;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.llmnpu.api.backend.DeviceKind;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * How well policies scheduled one prefill, against the lower bound: a text table for people and
 * JSON for tools.
 *
 * @param platform     name of the platform (a profile, or the devices of a real run)
 * @param model        one line describing the model and graph (shape, quantization)
 * @param promptTokens prompt length
 * @param chunkRows    rows of each chunk's static graph
 * @param chunks       number of chunks
 * @param tasks        tasks in the graph
 * @param lowerBound   bound under the placement the cost table encodes
 * @param devices      device names, in cost-table order
 * @param rows         one row per policy
 */
public record PlanReport(String platform, String model, int promptTokens, int chunkRows, int chunks, int tasks,
                         LowerBound lowerBound, List<String> devices, List<Row> rows) {

    public PlanReport {
        devices = List.copyOf(devices);
        rows = List.copyOf(rows);
    }

    /**
     * Measures of one schedule.
     *
     * @param policy              policy name
     * @param makespanSeconds     end of the last task
     * @param npuBusyFraction     share of the makespan the NPUs were busy (NaN without an NPU)
     * @param npuBubbleFraction   see {@link Schedule#npuBubbleFraction()} (NaN without NPU work)
     * @param deviceBusyFractions share of the makespan each device was busy, in device order
     */
    public record Row(String policy, double makespanSeconds, double npuBusyFraction, double npuBubbleFraction,
                      List<Double> deviceBusyFractions) {

        public Row {
            deviceBusyFractions = List.copyOf(deviceBusyFractions);
        }

        public static Row of(Schedule schedule) {
            CostTable costs = schedule.costs();
            List<Double> busy = new ArrayList<>();
            double npuBusy = 0;
            int npus = 0;
            for (int d = 0; d < costs.deviceCount(); d++) {
                busy.add(schedule.busyFraction(d));
                if (costs.device(d).kind() == DeviceKind.NPU) {
                    npuBusy += schedule.busyFraction(d);
                    npus++;
                }
            }
            return new Row(schedule.policy(), schedule.makespan(), npus > 0 ? npuBusy / npus : Double.NaN,
                    schedule.npuBubbleFraction().orElse(Double.NaN), busy);
        }
    }

    /** Makespan over the lower bound of {@code row}: 1 is optimal. */
    public double ratio(Row row) {
        return row.makespanSeconds() / lowerBound.seconds();
    }

    /** The row of policy {@code name}. */
    public Row row(String policy) {
        return rows.stream().filter(r -> r.policy().equals(policy)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no policy " + policy + " in this report; have "
                        + rows.stream().map(Row::policy).toList()));
    }

    public String toText() {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "prefill of %d tokens in %d chunk(s) of %d rows, %d tasks; %s; platform %s%n",
                promptTokens, chunks, chunkRows, tasks, model, platform));
        out.append(String.format(Locale.ROOT, "lower bound %.3f ms = max(load %.3f ms, critical path %.3f ms)%n",
                lowerBound.seconds() * 1e3, lowerBound.loadSeconds() * 1e3, lowerBound.criticalPathSeconds() * 1e3));
        StringBuilder header = new StringBuilder(String.format(Locale.ROOT, "%-18s %12s %15s %7s %9s %11s %13s",
                "policy", "makespan ms", "lower bound ms", "ratio", "tok/s", "NPU busy %", "NPU bubble %"));
        for (String d : devices) {
            header.append(String.format(Locale.ROOT, " %10s", d + " %"));
        }
        out.append(header).append('\n');
        for (Row r : rows) {
            out.append(String.format(Locale.ROOT, "%-18s %12.3f %15.3f %7.4f %9.1f %11s %13s", r.policy(),
                    r.makespanSeconds() * 1e3, lowerBound.seconds() * 1e3, ratio(r), promptTokens / r.makespanSeconds(),
                    percent(r.npuBusyFraction()), percent(r.npuBubbleFraction())));
            for (double busy : r.deviceBusyFractions()) {
                out.append(String.format(Locale.ROOT, " %10s", percent(busy)));
            }
            out.append('\n');
        }
        return out.toString();
    }

    private static String percent(double fraction) {
        return Double.isNaN(fraction) ? "n/a" : String.format(Locale.ROOT, "%.2f", 100 * fraction);
    }

    /** The report as JSON; times in milliseconds, shares as fractions, NaN as null. */
    public String toJson() {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = mapper.createObjectNode();
        root.put("platform", platform);
        root.put("model", model);
        root.put("prompt_tokens", promptTokens);
        root.put("chunk_rows", chunkRows);
        root.put("chunks", chunks);
        root.put("tasks", tasks);
        ObjectNode bound = root.putObject("lower_bound");
        bound.put("ms", lowerBound.seconds() * 1e3);
        bound.put("load_ms", lowerBound.loadSeconds() * 1e3);
        bound.put("critical_path_ms", lowerBound.criticalPathSeconds() * 1e3);
        ArrayNode names = root.putArray("devices");
        devices.forEach(names::add);
        ArrayNode policies = root.putArray("policies");
        for (Row r : rows) {
            ObjectNode p = policies.addObject();
            p.put("policy", r.policy());
            p.put("makespan_ms", r.makespanSeconds() * 1e3);
            p.put("ratio_to_lower_bound", ratio(r));
            p.put("tokens_per_second", promptTokens / r.makespanSeconds());
            putFraction(p, "npu_busy", r.npuBusyFraction());
            putFraction(p, "npu_bubble", r.npuBubbleFraction());
            ObjectNode busy = p.putObject("device_busy");
            for (int d = 0; d < devices.size(); d++) {
                busy.put(devices.get(d), r.deviceBusyFractions().get(d));
            }
        }
        try {
            return mapper.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write plan report as JSON", e);
        }
    }

    private static void putFraction(ObjectNode node, String field, double value) {
        if (Double.isNaN(value)) {
            node.putNull(field);
        } else {
            node.put(field, value);
        }
    }
}
