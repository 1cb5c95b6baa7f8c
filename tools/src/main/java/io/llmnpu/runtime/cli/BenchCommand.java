package io.llmnpu.runtime.cli;

import io.llmnpu.runtime.api.RuntimeOptions;
import io.llmnpu.runtime.bench.BenchJson;
import io.llmnpu.runtime.bench.BenchPlan;
import io.llmnpu.runtime.bench.BenchReport;
import io.llmnpu.runtime.bench.BenchRunner;
import io.llmnpu.runtime.bench.BenchSvgChart;
import io.llmnpu.runtime.bench.BenchTable;
import io.llmnpu.runtime.engine.BackendRegistry;
import io.llmnpu.runtime.files.AtomicFiles;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code llmnpu bench}: prefill and decode speed, in the manner of llama-bench. */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Measure prefill and decode speed, in the manner of llama-bench.",
            "",
            "Every combination of model, backend, thread count and chunk size is run (comma lists make a grid). "
                + "Prompts are random token ids. ppN times feeding N tokens into a fresh session (chunked prefill, "
                + "LM head on the last row); tgN times N single-token feeds into a fresh session, once per model, "
                + "backend and thread count (the chunk size does not affect it). Warm-up: each test first runs untimed "
                + "for 2 s or more (ppN whole prompts, tgN 4 tokens per session), until the JIT has compiled nothing "
                + "for a second (at most 30 s), so that no kernel runs interpreted while timed.",
            "",
            "Prints a table of tokens/s (mean ± sample stddev over the repetitions) and writes JSON (every sample, "
                + "achieved GFLOP/s, peak memory: resident set from VmHWM, and heap) and an SVG bar chart to the "
                + "output folder. Progress goes to stderr.",
            "",
            "Example:  llmnpu bench -m tinyllama-q8_0.gguf -p 256,512 -n 64 -r 3 -t 1,2",
            ""
        })
final class BenchCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = {"-m", "--model"}, paramLabel = "MODEL", description = "Model file; repeat for several (default: the default model).")
    List<Path> models = new ArrayList<>();

    @Option(names = {"-p", "--n-prompt"}, split = ",", defaultValue = "256", paramLabel = "N", splitSynopsisLabel = ",",
            description = "Prompt sizes for prefill tests; 0 = none (default: ${DEFAULT-VALUE}).")
    List<Integer> promptSizes;

    @Option(names = {"-n", "--n-gen"}, defaultValue = "64", paramLabel = "N",
            description = "Tokens for the decode test; 0 = skip it (default: ${DEFAULT-VALUE}).")
    int genTokens;

    @Option(names = {"-r", "--repetitions"}, defaultValue = "3", paramLabel = "N",
            description = "Timed runs per test (default: ${DEFAULT-VALUE}).")
    int repetitions;

    @Option(names = {"-t", "--threads"}, split = ",", defaultValue = "0", paramLabel = "N", splitSynopsisLabel = ",",
            description = "Kernel thread counts; 0 = one per core (default: ${DEFAULT-VALUE}).")
    List<Integer> threads;

    @Option(names = "--chunk", split = ",", defaultValue = "" + RuntimeOptions.DEFAULT_CHUNK_SIZE, paramLabel = "C", splitSynopsisLabel = ",",
            description = "Prefill chunk sizes (default: ${DEFAULT-VALUE}).")
    List<Integer> chunks;

    @Option(names = "--backend", split = ",", paramLabel = "NAME", splitSynopsisLabel = ",", description = "Backends to run on (default: cpu).")
    List<String> backends = new ArrayList<>();

    @Option(names = {"-o", "--output"}, defaultValue = "bench-results", paramLabel = "DIR",
            description = "Folder for the JSON and SVG results (default: ${DEFAULT-VALUE}).")
    Path outputDir;

    @Option(names = "--no-warmup", description = "Skip the untimed warm-up of each test.")
    boolean noWarmup;

    @Option(names = "--seed", defaultValue = "1234", paramLabel = "SEED", description = "Seed of the random prompt tokens (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--npu", paramLabel = "NAME", description = {"Also run every prefill test on the NPU path of this NPU backend",
        "(e.g. npu-ref): INT8 linears on the NPU, the rest on the float devices, one row each."})
    String npu;

    @Option(names = "--calib", paramLabel = "FILE", description = "Calibration for the NPU rows (default: beside the model or cached, else random tokens).")
    Path calib;

    @Option(names = "--trace", paramLabel = "FILE.svg", description = "Write the Gantt chart of the last NPU prompt run.")
    Path trace;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        threads.forEach(t -> FlagChecks.threads("-t", t, System.err));
        AtomicFiles.prepareFolder(outputDir); // before minutes of measuring, not after
        List<Path> files = new ArrayList<>();
        if (models.isEmpty()) {
            files.add(ModelLocator.resolve(null));
        } else {
            for (Path m : models) {
                files.add(ModelLocator.resolve(m));
            }
        }
        List<Integer> prompts = promptSizes.stream().filter(p -> p != 0).toList();
        BenchPlan plan = new BenchPlan(files, prompts, genTokens, repetitions, threads, chunks,
                backends.isEmpty() ? List.of("") : backends, !noWarmup, seed, npu, calib, trace);
        BenchReport report = new BenchRunner(plan, BackendRegistry.discover(BenchCommand.class.getClassLoader()), line -> {
            err.println("bench " + line);
            err.flush();
        }).run();

        out.print(BenchTable.render(report));
        out.flush();
        String stem = "bench-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        Path json = outputDir.resolve(stem + ".json");
        Path svg = outputDir.resolve(stem + ".svg");
        AtomicFiles.writeString(json, BenchJson.render(report));
        AtomicFiles.writeString(svg, BenchSvgChart.render(report));
        err.println("results: " + json + ", " + svg);
        err.flush();
        return 0;
    }
}
