package io.llmnpu.runtime.cli;

import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.runtime.model.ProgressListener;
import io.llmnpu.runtime.engine.BackendRegistry;
import io.llmnpu.runtime.engine.ChunkPlanner;
import io.llmnpu.runtime.engine.CostBook;
import io.llmnpu.runtime.engine.DevicePlan;
import io.llmnpu.runtime.engine.ForwardPass;
import io.llmnpu.runtime.graph.Architectures;
import io.llmnpu.runtime.graph.ModelGraphBuilder;
import io.llmnpu.runtime.engine.KvCache;
import io.llmnpu.runtime.engine.RunTrace;
import io.llmnpu.runtime.measure.Calibrator;
import io.llmnpu.runtime.files.AtomicFiles;
import io.llmnpu.runtime.model.load.LoadedModel;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.load.ModelLoader;
import io.llmnpu.runtime.quant.CalibrationData;
import io.llmnpu.runtime.quant.CalibrationFile;
import io.llmnpu.runtime.quant.CalibrationStore;
import io.llmnpu.runtime.quant.Int8WeightStore;
import io.llmnpu.runtime.quant.NpuRewrite;
import io.llmnpu.runtime.quant.QuantConfig;
import io.llmnpu.runtime.quant.QuantMode;
import io.llmnpu.scheduler.CostTable;
import io.llmnpu.scheduler.GanttSvg;
import io.llmnpu.scheduler.Policies;
import io.llmnpu.scheduler.Schedule;
import io.llmnpu.scheduler.ScheduleValidator;
import io.llmnpu.scheduler.SchedulingPolicy;
import io.llmnpu.scheduler.Simulator;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code llmnpu prefill-run}: a real W8A8 chunked prefill run by the engine as a task DAG over the NPU
 * backend and the float backends, one worker per device, under each scheduling policy in turn, in one
 * process so that the policies are compared on the same machine state.
 */
@Command(name = "prefill-run", mixinStandardHelpOptions = true,
        description = {"Run a real chunked W8A8 prefill as a DAG of subgraph tasks on the NPU and the float devices,",
            "one worker thread each, under each scheduling policy; prints prefill tokens/s and idle time per",
            "policy (median over repetitions, policies alternated) and writes a Gantt chart of a real run."})
final class PrefillRunCommand implements Callable<Integer> {

    @Parameters(index = "0", arity = "0..1", description = "GGUF file or llama2.c checkpoint (default: the default model).")
    Path model;

    @Option(names = {"-N", "--prompt-tokens"}, defaultValue = "256", description = "Prompt length (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--chunk", defaultValue = "64", description = "Chunk size (default: ${DEFAULT-VALUE}).")
    int chunk;

    @Option(names = "--policy", defaultValue = "all", split = ",",
            description = "Policies to compare, or 'all' (default: ${DEFAULT-VALUE}).")
    List<String> policy;

    @Option(names = "--reps", defaultValue = "5", description = "Measured runs per policy (default: ${DEFAULT-VALUE}).")
    int reps;

    @Option(names = "--mode", defaultValue = "shadow", description = "Quantization mode: naive, clipped, shadow, shadow-pruned (default: ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--calib", description = "Calibration file (default: MODEL.calib.json beside the model; "
            + "without one, scales come from a quick calibration on random tokens).")
    Path calib;

    @Option(names = "--threads", defaultValue = "1", description = "Threads of the float backend (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--npu-threads", defaultValue = "1", description = "Cores of the NPU backend (default: ${DEFAULT-VALUE}).")
    int npuThreads;

    @Option(names = "--backend", split = ",", description = "Float backends, e.g. cpu,opencl (default: cpu).")
    List<String> backend;

    @Option(names = "--npu", defaultValue = "npu-ref", description = "NPU backend (default: ${DEFAULT-VALUE}).")
    String npu;

    @Option(names = {"-o", "--output"}, defaultValue = "prefill-run", description = "Folder for the Gantt charts (default: ${DEFAULT-VALUE}).")
    Path output;

    @Override
    public Integer call() throws IOException {
        if (reps < 1) {
            throw new IllegalArgumentException("--reps must be at least 1, got " + reps);
        }
        Path modelPath = ModelLocator.resolve(model);
        AtomicFiles.prepareFolder(output);
        List<SchedulingPolicy> policies = policy.size() == 1 && policy.getFirst().equals("all") ? Policies.all()
                : policy.stream().map(Policies::byName).toList();
        if (policies.stream().noneMatch(p -> p.name().equals("in-order"))) {
            List<SchedulingPolicy> withBaseline = new ArrayList<>();
            withBaseline.add(Policies.byName("in-order"));
            withBaseline.addAll(policies);
            policies = withBaseline;
        }
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        BackendRegistry all = BackendRegistry.discover(PrefillRunCommand.class.getClassLoader());
        List<BackendProvider> providers = new ArrayList<>();
        Map<String, BackendOptions> perBackend = new HashMap<>();
        for (String b : backend == null ? List.of("cpu") : backend) {
            providers.add(all.select(b));
        }
        providers.add(all.select(npu));
        perBackend.put(npu, new BackendOptions(npuThreads));
        try (LoadedModel m = ModelLoader.load(modelPath, null, ConsoleProgress.stderr());
             DevicePlan devices = DevicePlan.open(new BackendRegistry(providers), new DevicePlan.Config(null,
                     new BackendOptions(threads), perBackend, null, CostBook.fixed()));
             Int8WeightStore store = new Int8WeightStore()) {
            ModelConfig config = m.config();
            int chunks = (promptTokens + chunk - 1) / chunk;
            int cacheRows = chunks * chunk;
            if (cacheRows > config.contextLength()) {
                throw new IllegalArgumentException(chunks + " chunks of " + chunk + " tokens exceed the context of "
                        + config.contextLength());
            }
            CalibrationData calibration = calibration(modelPath, m, devices);
            NpuRewrite rewrite = new NpuRewrite(config, m.weights(), calibration, QuantConfig.of(QuantMode.fromKey(mode)), store);
            int[] prompt = randomPrompt(config.vocabSize(), promptTokens);
            try (KvCache cache = new KvCache(config, cacheRows);
                 ForwardPass engine = new ForwardPass(config, Architectures.graphs(config, m.weights()), devices,
                         new ChunkPlanner(chunk), cacheRows, new ForwardPass.NpuPath(rewrite, npu), null)) {
                ForwardPass.Request request = ForwardPass.Request.of(cache, prompt, 0);
                // Warm-up runs: the JIT settles, and the last in-order run's trace gives the task costs.
                ForwardPass.Result warm = null;
                for (int i = 0; i < 2; i++) {
                    warm = engine.run(request.withPolicy(policies.getFirst()));
                }
                if (!warm.usedNpu()) {
                    throw new IllegalStateException("no device of " + npu + " runs the INT8 linear layers");
                }
                CostTable costs = warm.trace().measuredCosts();
                out.printf(Locale.ROOT, "%s: %d layers, dim %d, %s mode; %d tokens in %d chunks of %d; %d tasks; %s%n",
                        modelPath.getFileName(), config.layers(), config.dim(), mode, promptTokens, chunks, chunk,
                        warm.dag().graph().size(), String.join(" + ", devices.devices()));
                float[] expected = warm.lastLogits();
                for (SchedulingPolicy p : policies) {
                    engine.run(request.withPolicy(p).withCosts(costs));
                }
                Map<String, List<RunTrace>> runs = new LinkedHashMap<>();
                policies.forEach(p -> runs.put(p.name(), new ArrayList<>()));
                boolean identical = true;
                ScheduleValidator validator = new ScheduleValidator();
                for (int r = 0; r < reps; r++) {
                    for (int k = 0; k < policies.size(); k++) {   // rotate the order so drift hits every policy alike
                        SchedulingPolicy p = policies.get((k + r) % policies.size());
                        ForwardPass.Result run = engine.run(request.withPolicy(p).withCosts(costs));
                        identical &= Arrays.equals(expected, run.lastLogits());
                        validator.check(run.trace().toSchedule());
                        runs.get(p.name()).add(run.trace());
                    }
                }
                // Simulate on the median measured in-order run: past the warm-up, and with the least overlap.
                report(out, runs, identical, median(runs.get("in-order")).cpuTimeCosts());
                for (Map.Entry<String, List<RunTrace>> e : runs.entrySet()) {
                    RunTrace median = median(e.getValue());
                    Schedule schedule = median.toSchedule();
                    String subtitle = String.format(Locale.ROOT, "%s, measured run: %d tokens in %d chunks, %.1f tok/s, NPU idle %.1f%%",
                            modelPath.getFileName(), promptTokens, chunks, promptTokens / median.seconds(),
                            100 * median.idleFraction(median.firstOfKind(DeviceKind.NPU)));
                    AtomicFiles.writeString(output.resolve("gantt-run-" + e.getKey() + ".svg"), new GanttSvg().render(schedule, subtitle));
                }
                out.printf(Locale.ROOT, "wrote %d Gantt chart(s) of real runs to %s%n", runs.size(), output.toAbsolutePath().normalize());
                return identical ? 0 : 1;
            }
        }
    }

    private void report(PrintStream out, Map<String, List<RunTrace>> runs, boolean identical, CostTable cpuTime) {
        RunTrace baselineRun = median(runs.get("in-order"));
        double baseline = promptTokens / baselineRun.seconds();
        int npuLane = baselineRun.firstOfKind(DeviceKind.NPU);
        int cpuLane = baselineRun.firstOfKind(DeviceKind.CPU);
        Map<String, Double> simulated = new LinkedHashMap<>();
        for (String name : runs.keySet()) {
            simulated.put(name, new Simulator().run(baselineRun.graph(), cpuTime, Policies.byName(name)).makespan());
        }
        double simBaseline = simulated.get("in-order");
        out.printf(Locale.ROOT, "%-18s %10s %10s %9s %9s %12s %12s %8s %9s %8s%n", "policy", "tok/s", "ms", "NPU idle", "CPU idle",
                "NPU busy ms", "CPU busy ms", "vs in-order", "sim ms", "sim vs in-order");
        for (Map.Entry<String, List<RunTrace>> e : runs.entrySet()) {
            RunTrace t = median(e.getValue());
            double tps = promptTokens / t.seconds();
            out.printf(Locale.ROOT, "%-18s %10.1f %10.2f %8.1f%% %8.1f%% %12s %12s %+7.1f%% %9.2f %+7.1f%%%n", e.getKey(), tps,
                    t.seconds() * 1e3, 100 * t.idleFraction(npuLane), 100 * t.idleFraction(cpuLane),
                    busy(t, npuLane), busy(t, cpuLane), 100 * (tps / baseline - 1),
                    simulated.get(e.getKey()) * 1e3, 100 * (simBaseline / simulated.get(e.getKey()) - 1));
        }
        out.printf(Locale.ROOT, "medians of %d runs per policy; busy = wall time running tasks (share of it the worker "
                + "thread was on a core); "
                + "sim = the scheduler's simulation of the policy on each task's measured thread CPU time, i.e. on "
                + "dedicated cores; last-position logits identical across all runs: %s%n", reps, identical ? "yes" : "NO");
    }

    private static String busy(RunTrace t, int device) {
        return String.format(Locale.ROOT, "%.0f (%.0f%%)", t.busySeconds(device) * 1e3, 100 * t.coreShare(device));
    }

    /** The run of median wall time. */
    private static RunTrace median(List<RunTrace> traces) {
        List<RunTrace> sorted = new ArrayList<>(traces);
        sorted.sort((a, b) -> Long.compare(a.endNanos() - a.startNanos(), b.endNanos() - b.startNanos()));
        return sorted.get(sorted.size() / 2);
    }

    private CalibrationData calibration(Path modelPath, LoadedModel m, DevicePlan devices) throws IOException {
        Path path = calib != null ? calib : CalibrationStore.find(modelPath).orElse(CalibrationFile.sidecarOf(modelPath));
        if (Files.isRegularFile(path)) {
            return CalibrationFile.read(path);
        }
        if (calib != null) {
            throw new IllegalArgumentException("no calibration file at " + calib);
        }
        // Timing does not depend on how good the scales are; random tokens give usable ones quickly.
        System.err.println("no calibration at " + path + "; calibrating on random tokens (run llmnpu calibrate for real scales)");
        int length = Math.min(128, m.config().contextLength());
        List<int[]> sequences = List.of(randomPrompt(m.config().vocabSize(), length), randomPrompt(m.config().vocabSize(), length));
        return new Calibrator(m.config(), m.weights(), devices, Calibrator.Options.DEFAULTS)
                .run(sequences, modelPath.getFileName().toString(), Files.size(modelPath), "random tokens", ProgressListener.none());
    }

    /** A fixed pseudo-random prompt (BOS first): prefill speed does not depend on which tokens. */
    private static int[] randomPrompt(int vocab, int length) {
        Random r = new Random(42);
        int[] tokens = new int[length];
        tokens[0] = 1;
        for (int i = 1; i < length; i++) {
            tokens[i] = 3 + r.nextInt(Math.max(1, vocab - 3));
        }
        return tokens;
    }
}
