package io.llmnpu.runtime.cli;

import io.llmnpu.runtime.files.AtomicFiles;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.api.tensor.DType;
import io.llmnpu.runtime.quant.QuantMode;
import io.llmnpu.runtime.synth.ModelShape;
import io.llmnpu.scheduler.DeviceProfile;
import io.llmnpu.scheduler.PlatformProfile;
import io.llmnpu.scheduler.Policies;
import io.llmnpu.scheduler.RequestSimulator;
import io.llmnpu.scheduler.SchedulingPolicy;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code llmnpu simulate}: the end-to-end latency and energy of one request on a device profile, with
 * the prompt offloaded to the NPU against CPU-only and GPU-only runs.
 */
@Command(name = "simulate", mixinStandardHelpOptions = true,
        description = {"Simulate one request (a prompt of N tokens, then M generated tokens) on a device profile:",
            "time to first token, total latency and energy, with prefill on the NPU (INT8 linears; the rest on",
            "GPU/CPU, out of order) against CPU-only and GPU-only runs. Decode runs in float on the fastest of the",
            "allowed devices. Runs no kernels: the profile's devices are simulated, the graphs are the real ones.",
            "Prints a table and writes JSON and an SVG chart."})
final class SimulateCommand implements Callable<Integer> {

    @Option(names = "--shape", split = ",", defaultValue = "qwen1.5-1.8b,gemma-2b",
            description = "Model shapes (default: ${DEFAULT-VALUE}).")
    List<String> shapes;

    @Option(names = {"-N", "--prompt-tokens"}, defaultValue = "1024", description = "Prompt length (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = {"-M", "--output-tokens"}, defaultValue = "32", description = "Generated tokens (default: ${DEFAULT-VALUE}).")
    int outputTokens;

    @Option(names = "--chunk", defaultValue = "256", description = "Chunk size (default: ${DEFAULT-VALUE}).")
    int chunk;

    @Option(names = "--profile", defaultValue = "snapdragon-8gen3-like", description = "Built-in profile or JSON file (default: ${DEFAULT-VALUE}).")
    String profile;

    @Option(names = "--policy", defaultValue = "critical-path", description = "Scheduling policy (default: ${DEFAULT-VALUE}).")
    String policy;

    @Option(names = "--mode", defaultValue = "shadow-pruned", description = "NPU path (default: ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = {"-o", "--output"}, defaultValue = "simulate-results", description = "Folder for JSON and SVG (default: ${DEFAULT-VALUE}).")
    Path output;

    @Override
    public Integer call() throws IOException {
        PlatformProfile platform = PrefillPlanCommand.loadProfile(profile);
        SchedulingPolicy p = Policies.byName(policy);
        RequestSimulator simulator = new RequestSimulator();
        List<Row> rows = new ArrayList<>();
        for (String name : shapes) {
            ModelShape shape = PrefillPlanCommand.resolveShape(name.strip(), null);
            PlanGraphs graphs = new PlanGraphs(shape, DType.F16, QuantMode.fromKey(mode));
            int context = promptTokens + outputTokens;
            for (RequestSimulator.Configuration c : configurations(platform, graphs, context)) {
                rows.add(new Row(shape.name(), simulator.estimate(c, platform, outputTokens, p)));
            }
        }
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        out.printf(Locale.ROOT, "request: %d prompt tokens, %d generated; profile %s; policy %s; NPU path %s%n",
                promptTokens, outputTokens, platform.name(), p.name(), mode);
        out.printf(Locale.ROOT, "%-14s %-16s %9s %12s %11s %12s %10s %9s%n", "model", "configuration", "TTFT ms",
                "prefill t/s", "decode t/s", "total ms", "energy J", "mJ/token");
        for (Row r : rows) {
            RequestSimulator.Estimate e = r.estimate();
            out.printf(Locale.ROOT, "%-14s %-16s %9.1f %12.1f %11.1f %12.1f %10s %9s%n", r.model(), e.configuration(),
                    e.ttftSeconds() * 1e3, e.prefillTokensPerSecond(), e.decodeTokensPerSecond(), e.totalSeconds() * 1e3,
                    Double.isNaN(e.energyJoules()) ? "n/a" : String.format(Locale.ROOT, "%.2f", e.energyJoules()),
                    Double.isNaN(e.energyJoules()) ? "n/a" : String.format(Locale.ROOT, "%.1f", 1e3 * e.joulesPerToken()));
        }
        AtomicFiles.writeString(output.resolve("simulate.json"), json(platform, p, rows));
        AtomicFiles.writeString(output.resolve("simulate.svg"), RequestChart.render(rows.stream().map(r ->
                new RequestChart.Bar(r.model(), r.estimate())).toList(), String.format(Locale.ROOT,
                "One request on %s: %d prompt tokens, %d generated", platform.name(), promptTokens, outputTokens)));
        out.printf(Locale.ROOT, "wrote simulate.json and simulate.svg to %s%n", output.toAbsolutePath().normalize());
        return 0;
    }

    /** NPU-offloaded prefill, and float-only runs on the CPU and on the GPU where the profile has them. */
    private List<RequestSimulator.Configuration> configurations(PlatformProfile platform, PlanGraphs g, int context) {
        List<String> all = platform.devices().stream().map(DeviceProfile::name).toList();
        List<String> floats = platform.devices().stream().filter(d -> d.kind() != DeviceKind.NPU)
                .filter(d -> d.floatOpsPerSecond() > 0).map(DeviceProfile::name).toList();
        List<RequestSimulator.Configuration> out = new ArrayList<>();
        if (platform.devices().stream().anyMatch(d -> d.kind() == DeviceKind.NPU) && !floats.isEmpty()) {
            out.add(new RequestSimulator.Configuration("NPU + " + String.join("/", floats).toUpperCase(Locale.ROOT),
                    g.prefill(promptTokens, chunk, true), g.decodeBody(context), g.head(), all, floats));
        }
        for (DeviceKind kind : List.of(DeviceKind.CPU, DeviceKind.GPU)) {
            platform.devices().stream().filter(d -> d.kind() == kind && d.floatOpsPerSecond() > 0).findFirst()
                    .ifPresent(d -> out.add(new RequestSimulator.Configuration(kind + " only", g.prefill(promptTokens, chunk, false),
                            g.decodeBody(context), g.head(), List.of(d.name()), List.of(d.name()))));
        }
        return out;
    }

    private String json(PlatformProfile platform, SchedulingPolicy p, List<Row> rows) throws IOException {
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = mapper.createObjectNode();
        root.put("profile", platform.name());
        root.put("policy", p.name());
        root.put("npu_mode", mode);
        root.put("prompt_tokens", promptTokens);
        root.put("output_tokens", outputTokens);
        root.put("chunk", chunk);
        ArrayNode list = root.putArray("requests");
        for (Row r : rows) {
            RequestSimulator.Estimate e = r.estimate();
            ObjectNode o = list.addObject();
            o.put("model", r.model());
            o.put("configuration", e.configuration());
            o.put("ttft_ms", e.ttftSeconds() * 1e3);
            o.put("decode_step_ms", e.decodeSeconds() * 1e3);
            o.put("total_ms", e.totalSeconds() * 1e3);
            if (Double.isNaN(e.energyJoules())) {
                o.putNull("energy_j");
            } else {
                o.put("energy_j", e.energyJoules());
            }
            ObjectNode busy = o.putObject("busy_ms");
            e.busySeconds().forEach((d, s) -> busy.put(d, s * 1e3));
        }
        return mapper.writeValueAsString(root);
    }

    /** One model in one configuration. */
    record Row(String model, RequestSimulator.Estimate estimate) {
    }
}
