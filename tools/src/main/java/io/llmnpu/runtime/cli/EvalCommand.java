package io.llmnpu.runtime.cli;

import io.llmnpu.api.tensor.Int8Weights;
import io.llmnpu.runtime.files.AtomicFiles;
import io.llmnpu.runtime.files.TextFiles;
import io.llmnpu.runtime.model.load.LoadedModel;
import io.llmnpu.runtime.model.load.ModelLoader;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.runtime.engine.BackendRegistry;
import io.llmnpu.runtime.engine.DevicePlan;
import io.llmnpu.runtime.measure.EvalReport;
import io.llmnpu.runtime.measure.QuantEvaluator;
import io.llmnpu.runtime.quant.CalibrationData;
import io.llmnpu.runtime.quant.CalibrationFile;
import io.llmnpu.runtime.quant.CalibrationStore;
import io.llmnpu.runtime.quant.Json;
import io.llmnpu.runtime.quant.ParagraphChunker;
import io.llmnpu.runtime.quant.QuantConfig;
import io.llmnpu.runtime.quant.QuantMode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code llmnpu eval}: perplexity, KL and top-1 agreement of INT8 configurations against FP32. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Score a text with FP32 and with INT8 configurations on the NPU (naive absmax W8A8,",
            "clipped W8A8, W8A8 + shadow outliers, W8A8 + shadow + pruning): perplexity, and against FP32 the",
            "mean KL divergence of next-token distributions and top-1 agreement. The text is cut into groups",
            "of paragraphs (up to --max-chars characters, --max-tokens tokens). Needs a calibration",
            "(llmnpu calibrate). Prints a table and writes JSON and SVG reports."})
final class EvalCommand implements Callable<Integer> {

    @Parameters(index = "0", arity = "0..1", description = "GGUF file or llama2.c checkpoint (default: the default model).")
    Path model;

    @Option(names = "--text", required = true, description = "Text to score (paragraphs separated by blank lines).")
    Path text;

    @Option(names = "--chunks", defaultValue = "40", description = "Score the first N paragraph groups; 0 = all (default: ${DEFAULT-VALUE}).")
    int chunks;

    @Option(names = "--max-chars", defaultValue = "1200", description = "Characters a paragraph group may reach (default: ${DEFAULT-VALUE}).")
    int maxChars;

    @Option(names = "--max-tokens", defaultValue = "500", description = "Tokens a group is cut to (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--calib", description = "Calibration file (default: MODEL.calib.json beside the model, else the per-user cache).")
    Path calib;

    @Option(names = "--modes", split = ",", defaultValue = "fp32,naive,clipped,shadow,shadow-pruned",
            description = "Configurations to score (default: ${DEFAULT-VALUE}).")
    List<String> modes;

    @Option(names = "--weights", description = "INT8 weight scales: tensor or channel (default: tensor; channel with --prompts, as prompts run on an NPU).")
    String weights;

    @Option(names = "--prompts", paramLabel = "N", description = {"Instead of scoring every position: take the first N paragraphs",
        "of the text as prompts and compare the next token after each, NPU prefill (as generate runs it, in",
        "chunks of --chunk) against float prefill: greedy agreement and KL divergence."})
    Integer prompts;

    @Option(names = "--chunk", defaultValue = "256", description = "Chunk size of prompts with --prompts (default: ${DEFAULT-VALUE}).")
    int chunk;

    @Option(names = "--shadow-fraction", defaultValue = "0.15", description = "Share of linear sites keeping a shadow when pruning (default: ${DEFAULT-VALUE}).")
    double shadowFraction;

    @Option(names = "--no-requantize", description = "Dequantize INT32 accumulators directly instead of handing outputs on as INT16.")
    boolean noRequantize;

    @Option(names = "--json", description = "JSON report (default: eval-MODEL.json in the working directory).")
    Path json;

    @Option(names = "--svg", description = "SVG chart (default: eval-MODEL.svg in the working directory).")
    Path svg;

    @Option(names = "--tokenizer", description = "Tokenizer .bin for a llama2.c checkpoint (default: found next to it).")
    Path tokenizer;

    @Option(names = "--threads", defaultValue = "0", description = "Float kernel threads; 0 = one per core (default).")
    int threads;

    @Option(names = "--npu-threads", defaultValue = "0", description = "NPU backend cores; 0 = its default.")
    int npuThreads;

    @Option(names = "--backend", description = "Float backend (default: cpu).")
    String backend;

    @Option(names = "--npu", defaultValue = "npu-ref", description = "NPU backend (default: ${DEFAULT-VALUE}).")
    String npu;

    @Override
    public Integer call() throws IOException {
        FlagChecks.threads("--threads", threads, System.err);
        Path modelPath = ModelLocator.resolve(model);
        Path calibPath = calib != null ? calib : CalibrationStore.find(modelPath).orElse(CalibrationFile.sidecarOf(modelPath));
        if (!Files.isRegularFile(calibPath)) {
            throw new IllegalArgumentException("no calibration at " + calibPath + ": run llmnpu calibrate " + modelPath
                    + " --text CALIBRATION_TEXT first, or pass --calib FILE");
        }
        CalibrationData calibration = CalibrationFile.read(calibPath);
        String weightScales = weights != null ? weights : prompts != null ? "channel" : "tensor";
        Int8Weights.Granularity granularity = switch (weightScales.toLowerCase(Locale.ROOT)) {
            case "tensor" -> Int8Weights.Granularity.PER_TENSOR;
            case "channel" -> Int8Weights.Granularity.PER_OUTPUT_CHANNEL;
            default -> throw new IllegalArgumentException("--weights must be tensor or channel, got " + weights);
        };
        List<QuantConfig> configs = new ArrayList<>();
        for (String m : modes) {
            configs.add(QuantConfig.of(QuantMode.fromKey(m.strip())).withWeights(granularity)
                    .withShadowFraction(shadowFraction).withRequantizedOutputs(!noRequantize));
        }
        String baseName = modelPath.getFileName().toString().replaceFirst("\\.[^.]+$", "");
        Path jsonPath = json != null ? json : Path.of("eval-" + baseName + ".json");
        Path svgPath = svg != null ? svg : Path.of("eval-" + baseName + ".svg");
        AtomicFiles.checkWritable(jsonPath); // before the evaluation, not after
        AtomicFiles.checkWritable(svgPath);
        String content = TextFiles.readUtf8(text, "text to score");
        PrintStream console = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        BackendRegistry all = BackendRegistry.discover(EvalCommand.class.getClassLoader());
        BackendRegistry registry = new BackendRegistry(java.util.List.of(all.select(backend), all.select(npu)));
        try (LoadedModel m = ModelLoader.load(modelPath, tokenizer, ConsoleProgress.stderr());
             DevicePlan devices = DevicePlan.open(registry, new DevicePlan.Config(backend, new BackendOptions(threads),
                     java.util.Map.of(npu, new BackendOptions(npuThreads)), null, null))) {
            if (!calibration.model().equals(modelPath.getFileName().toString())
                    || calibration.modelBytes() != Files.size(modelPath)) {
                System.err.println("warning: " + calibPath + " was made for " + calibration.model() + " ("
                        + calibration.modelBytes() + " bytes)");
            }
            if (prompts != null) {
                return runPrompts(m, calibration, devices, content, configs, console, jsonPath, calibPath,
                        modelPath.getFileName().toString());
            }
            ParagraphChunker chunker = new ParagraphChunker(maxChars, Math.min(maxTokens, m.config().contextLength()));
            List<int[]> sequences = chunker.sequences(content, m.tokenizer(), chunks);
            QuantEvaluator.Result result = new QuantEvaluator(m.config(), m.weights(), calibration, devices, npu)
                    .evaluate(sequences, configs, ConsoleProgress.stderr());
            String described = String.join(" + ", devices.devices());
            console.printf(Locale.ROOT, "%s on %s, %s (calibration %s, %d tokens of %s)%n", modelPath.getFileName(),
                    text.getFileName(), described, calibPath.getFileName(), calibration.tokens(),
                    calibration.text());
            console.print(EvalReport.table(result));
            Map<String, Object> context = new LinkedHashMap<>();
            context.put("model", modelPath.getFileName().toString());
            context.put("text", text.getFileName().toString());
            context.put("chunks", chunks);
            context.put("max_chars", maxChars);
            context.put("max_tokens", chunker.maxTokens());
            context.put("calibration", calibPath.getFileName().toString());
            context.put("calibration_text", calibration.text());
            context.put("calibration_tokens", calibration.tokens());
            context.put("devices", described);
            AtomicFiles.writeString(jsonPath, Json.write(EvalReport.json(result, context)));
            AtomicFiles.writeString(svgPath, EvalReport.svg(result, modelPath.getFileName() + ": INT8 configurations vs FP32 on "
                    + text.getFileName()));
            console.println("wrote " + jsonPath + " and " + svgPath);
        }
        return 0;
    }

    /** The next token after each of the first paragraphs, NPU prefill against float prefill. */
    private int runPrompts(LoadedModel m, CalibrationData calibration, DevicePlan devices, String content,
                           List<QuantConfig> configs, PrintStream console, Path jsonPath, Path calibPath,
                           String modelFile) throws IOException {
        if (prompts < 1) {
            throw new IllegalArgumentException("--prompts must be at least 1, got " + prompts);
        }
        int context = m.config().contextLength();
        List<int[]> sequences = new ArrayList<>();
        for (String p : ParagraphChunker.paragraphs(content)) {
            if (sequences.size() == prompts) {
                break;
            }
            int[] ids = m.tokenizer().encode(p, m.tokenizer().bos() >= 0);
            sequences.add(ids.length > context ? java.util.Arrays.copyOf(ids, context) : ids);
        }
        List<QuantEvaluator.PromptResult> results = new QuantEvaluator(m.config(), m.weights(), calibration, devices, npu)
                .evaluatePrompts(sequences, configs, chunk, ConsoleProgress.stderr());
        console.printf(Locale.ROOT, "%s: next token after the first %d paragraphs of %s, NPU prefill (%s, chunks of %d) against "
                        + "float prefill; calibration %s%n", modelFile, sequences.size(), text.getFileName(),
                String.join(" + ", devices.devices()), chunk, calibPath.getFileName());
        console.printf(Locale.ROOT, "%-42s %8s %10s %10s %10s %12s%n", "configuration", "prompts", "agreement", "mean KL",
                "max KL", "close calls");
        com.fasterxml.jackson.databind.ObjectMapper mapper = new com.fasterxml.jackson.databind.ObjectMapper()
                .enable(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT);
        var root = mapper.createObjectNode();
        root.put("model", modelFile);
        root.put("text", text.getFileName().toString());
        root.put("prompts", sequences.size());
        root.put("chunk", chunk);
        root.put("calibration", calibPath.getFileName().toString());
        var list = root.putArray("configurations");
        for (QuantEvaluator.PromptResult r : results) {
            String label = r.config().mode().label() + (r.config().weights() == Int8Weights.Granularity.PER_OUTPUT_CHANNEL
                    ? ", channel weights" : "");
            console.printf(Locale.ROOT, "%-42s %8d %9.2f%% %10.5f %10.5f %12d%n", label, r.prompts(), 100 * r.agreement(),
                    r.meanKl(), r.maxKl(), r.closeCalls());
            var o = list.addObject();
            o.put("mode", r.config().mode().key());
            o.put("weights", r.config().weights().name().toLowerCase(Locale.ROOT));
            o.put("agreement", r.agreement());
            o.put("mean_kl", r.meanKl());
            o.put("max_kl", r.maxKl());
            o.put("close_calls", r.closeCalls());
        }
        Files.writeString(jsonPath, mapper.writeValueAsString(root), StandardCharsets.UTF_8);
        console.println("wrote " + jsonPath);
        return 0;
    }
}
