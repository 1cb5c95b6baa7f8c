package io.llmnpu.runtime.cli;

import io.llmnpu.runtime.files.AtomicFiles;
import io.llmnpu.runtime.api.CancellationToken;
import io.llmnpu.runtime.api.GenerationRequest;
import io.llmnpu.runtime.api.GenerationResult;
import io.llmnpu.runtime.api.LlmRuntime;
import io.llmnpu.runtime.osgi.BackendHost;
import io.llmnpu.runtime.sampling.SamplerConfig;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code llmnpu generate}: continue a prompt and stream the text. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Continue a prompt with a model and stream the text as it is produced.",
            "Without -m, runs the default model (stories260K) from ../shared/models or $LLMNPU_MODEL."})
final class GenerateCommand implements Callable<Integer> {

    @Mixin
    RuntimeMixin runtime;

    @Parameters(index = "0", arity = "0..1", defaultValue = "", description = "Prompt text (default: empty, start from BOS).")
    String prompt;

    @Option(names = {"-n", "--max-tokens"}, defaultValue = "256", description = "Most tokens to generate (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = {"-t", "--temperature"}, defaultValue = "0.8", description = "Sampling temperature; 0 = greedy (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-k", defaultValue = "40", description = "Keep the k most likely tokens; 0 = off (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = {"-p", "--top-p"}, defaultValue = "0.95", description = "Nucleus sampling threshold; 1 = off (default: ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--min-p", defaultValue = "0.05", description = "Drop tokens below min-p times the top probability; 0 = off (default: ${DEFAULT-VALUE}).")
    float minP;

    @Option(names = "--repeat-penalty", defaultValue = "1.0", description = "Penalty for recently seen tokens; 1 = off (default: ${DEFAULT-VALUE}).")
    float repeatPenalty;

    @Option(names = "--repeat-last-n", defaultValue = "64", description = "How many recent tokens the penalty looks at (default: ${DEFAULT-VALUE}).")
    int repeatLastN;

    @Option(names = {"-s", "--seed"}, description = "Random seed (default: time based).")
    Long seed;

    @Option(names = "--llama2c-sampling", description = "Sample exactly as llama2.c run.c does (temperature and top-p only).")
    boolean llama2cSampling;

    @Option(names = "--trace", paramLabel = "FILE.svg", description = "Write the Gantt chart of the prompt's run: which device ran which task when.")
    Path trace;

    @Option(names = "--no-stop", description = "Keep generating past end-of-sequence tokens.")
    boolean noStop;

    @Option(names = "--json", description = {"Print one JSON object instead of streaming text: prompt_ids, gen_ids,",
        "text, top_logits (the highest [id, logit] pairs after the prompt) and timings."})
    boolean json;

    @Option(names = "--top-logits", defaultValue = "5", paramLabel = "K",
            description = "How many [id, logit] pairs --json reports (default: ${DEFAULT-VALUE}).")
    int topLogits;

    @Override
    public Integer call() {
        FlagChecks.nonNegative("-n", maxTokens, "the most tokens to generate");
        runtime.checkFlags();
        if (trace != null) {
            AtomicFiles.checkWritable(trace); // before the model loads, not after the run
        }
        long actualSeed = seed != null ? seed : System.nanoTime();
        SamplerConfig sampling = new SamplerConfig(temperature, llama2cSampling ? 0 : topK, topP,
                llama2cSampling ? 0 : minP, llama2cSampling ? 1 : repeatPenalty, repeatLastN, actualSeed,
                llama2cSampling ? SamplerConfig.Mode.LLAMA2C : SamplerConfig.Mode.STANDARD);
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        try (BackendHost host = runtime.startHost();
             LlmRuntime llm = runtime.open(host)) {
            CancellationToken cancel = new CancellationToken();
            llm.promptTokens(prompt); // a prompt that cannot run is refused before it is echoed
            GenerationRequest request = new GenerationRequest(prompt, maxTokens, sampling, !noStop);
            try (CtrlC ctrlC = CtrlC.cancels(cancel)) {
                GenerationResult r;
                if (json) {
                    GenerationJson collector = new GenerationJson(Math.max(0, topLogits));
                    r = llm.generate(request, collector, cancel);
                    out.println(collector.toJson(r));
                } else {
                    out.print(prompt);
                    out.flush();
                    try {
                        r = llm.generate(request, (id, text) -> {
                            out.print(text);
                            out.flush();
                        }, cancel);
                    } finally {
                        out.println(); // the text ends its line, also when generation fails
                    }
                }
                System.err.printf(Locale.ROOT, "%nprompt: %d tokens, %.1f tok/s, TTFT %.1f ms, %s on %s | generated: %d tokens, "
                                + "%.1f tok/s on %s | seed %d | stop: %s%n",
                        r.promptTokens(), r.prefillTokensPerSecond(), r.ttftSeconds() * 1e3, r.prefill().path(),
                        busy(r.prefill().deviceBusy()), r.tokens().length, r.decodeTokensPerSecond(), llm.deviceName(),
                        actualSeed, r.stopReason().name().toLowerCase(Locale.ROOT));
                if (trace != null && llm.lastPrefill() != null) {
                    TraceChart.write(trace, llm.lastPrefill(), "prompt of " + r.promptTokens() + " tokens");
                    System.err.println("wrote the prompt's Gantt chart to " + trace);
                }
            }
        }
        return 0;
    }

    /** Each device's busy share of the prefill, e.g. {@code npu-ref/npu0 62% + cpu/cpu0 81%}. */
    static String busy(java.util.Map<String, Double> shares) {
        if (shares.isEmpty()) {
            return "-";
        }
        java.util.List<String> parts = new java.util.ArrayList<>();
        shares.forEach((d, f) -> parts.add(String.format(Locale.ROOT, "%s %.0f%%", d, 100 * f)));
        return String.join(" + ", parts);
    }
}
