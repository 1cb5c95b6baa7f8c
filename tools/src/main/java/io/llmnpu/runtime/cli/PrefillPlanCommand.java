package io.llmnpu.runtime.cli;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.runtime.files.AtomicFiles;
import io.llmnpu.runtime.model.load.LoadedModel;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.load.ModelLoader;
import io.llmnpu.runtime.quant.QuantMode;
import io.llmnpu.runtime.synth.ModelShape;
import io.llmnpu.runtime.synth.ModelShapes;
import io.llmnpu.scheduler.Plan;
import io.llmnpu.scheduler.PlatformProfile;
import io.llmnpu.scheduler.Policies;
import io.llmnpu.scheduler.PrefillPlanner;
import io.llmnpu.scheduler.ProfileLoader;
import io.llmnpu.scheduler.SchedulingPolicy;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code llmnpu prefill-plan}: how a prefill would be scheduled across NPU, GPU and CPU. */
@Command(name = "prefill-plan", mixinStandardHelpOptions = true,
        description = {"Simulate how a chunked prefill is scheduled across NPU, GPU and CPU.",
            "Runs no kernels: the profile's devices become simulated devices, the model's real graphs (rewritten",
            "for the NPU) are placed over them by their affinities and cut into the task DAG a real run executes;",
            "prints makespan, lower bound, NPU busy and bubble time per policy, and writes the report as JSON plus",
            "a Gantt chart (SVG) per policy."})
final class PrefillPlanCommand implements Callable<Integer> {

    @Parameters(index = "0", arity = "0..1", description = "Model file whose shape to plan (or use --shape).")
    Path model;

    @Option(names = "--shape", description = "A named shape instead of a file: ${COMPLETION-CANDIDATES}.",
            completionCandidates = ShapeNames.class)
    String shape;

    @Option(names = {"-N", "--prompt-tokens"}, defaultValue = "1024", description = "Prompt length (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--chunk", defaultValue = "256", description = "Chunk size (default: ${DEFAULT-VALUE}).")
    int chunk;

    @Option(names = "--profile", defaultValue = "snapdragon-8gen3-like",
            description = "Built-in profile (${COMPLETION-CANDIDATES}) or a JSON file (default: ${DEFAULT-VALUE}).",
            completionCandidates = ProfileNames.class)
    String profile;

    @Option(names = "--policy", defaultValue = "all", description = "Policy name, or 'all' to compare them (default: ${DEFAULT-VALUE}).")
    String policy;

    @Option(names = "--mode", defaultValue = "shadow-pruned",
            description = "NPU path: shadow-pruned (llm.npu's: shadows at the 15% most important sites), shadow, clipped (default: ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = {"-o", "--output"}, defaultValue = "plan-results", description = "Folder for JSON and SVG (default: ${DEFAULT-VALUE}).")
    Path output;

    static final class ShapeNames extends java.util.ArrayList<String> {
        ShapeNames() {
            super(ModelShapes.all().keySet());
        }
    }

    static final class ProfileNames extends java.util.ArrayList<String> {
        ProfileNames() {
            super(ProfileLoader.BUILT_IN);
        }
    }

    @Override
    public Integer call() throws IOException {
        AtomicFiles.prepareFolder(output);
        ModelShape modelShape = resolveShape(shape, model);
        PlatformProfile platform = loadProfile(profile);
        List<SchedulingPolicy> policies = policy.equals("all") ? Policies.all() : List.of(Policies.byName(policy));
        PlanGraphs graphs = new PlanGraphs(modelShape, DType.F16, QuantMode.fromKey(mode));
        PrefillPlanner.Comparison comparison = new PrefillPlanner().compare(graphs.prefill(promptTokens, chunk, true),
                platform, policies);
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        out.println(comparison.report().toText());
        AtomicFiles.writeString(output.resolve("prefill-plan.json"), comparison.report().toJson());
        for (Plan plan : comparison.plans()) {
            String name = plan.schedule().policy();
            AtomicFiles.writeString(output.resolve("gantt-" + name + ".svg"), plan.ganttSvg());
        }
        out.printf(Locale.ROOT, "wrote %s and %d Gantt chart(s) to %s%n", "prefill-plan.json", comparison.plans().size(),
                output.toAbsolutePath().normalize());
        return 0;
    }

    static PlatformProfile loadProfile(String name) {
        ProfileLoader loader = new ProfileLoader();
        return Files.isRegularFile(Path.of(name)) ? loader.load(Path.of(name)) : loader.builtIn(name);
    }

    /** The named shape, or the shape of the model file. */
    static ModelShape resolveShape(String name, Path model) {
        if (name != null) {
            return ModelShapes.byName(name);
        }
        if (model == null) {
            throw new IllegalArgumentException("give a model file or --shape (e.g. --shape qwen1.5-1.8b)");
        }
        try (LoadedModel m = ModelLoader.load(model, null)) {
            ModelConfig c = m.config();
            return new ModelShape(model.getFileName().toString(), "llama", c.dim(), c.hiddenDim(), c.layers(), c.heads(),
                    c.kvHeads(), c.vocabSize(), c.contextLength(), c.ropeTheta(), c.rmsEps(), m.weights().tiedOutput());
        }
    }
}
