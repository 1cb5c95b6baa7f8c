package io.llmnpu.runtime.cli;

import io.llmnpu.runtime.api.CancellationToken;
import io.llmnpu.runtime.api.GenerationRequest;
import io.llmnpu.runtime.api.GenerationResult;
import io.llmnpu.runtime.api.LlmRuntime;
import io.llmnpu.runtime.api.RuntimeOptions;
import io.llmnpu.runtime.osgi.BackendHost;
import io.llmnpu.runtime.sampling.SamplerConfig;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code llmnpu generate}: continue a prompt and stream the text. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Continue a prompt with a model and stream the text as it is produced.",
            "Without -m, runs the default model (stories260K) from ../shared/models or $LLMNPU_MODEL."})
final class GenerateCommand implements Callable<Integer> {

    @Parameters(index = "0", arity = "0..1", defaultValue = "", description = "Prompt text (default: empty, start from BOS).")
    String prompt;

    @Option(names = {"-m", "--model"}, description = "GGUF file or llama2.c checkpoint.")
    Path model;

    @Option(names = "--tokenizer", description = "Tokenizer .bin for a llama2.c checkpoint (default: found next to it).")
    Path tokenizer;

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

    @Option(names = "--threads", defaultValue = "0", description = "Kernel threads; 0 = one per core (default).")
    int threads;

    @Option(names = {"-c", "--ctx"}, defaultValue = "0", description = "Context length; 0 = the model's (default).")
    int contextLength;

    @Option(names = "--chunk", defaultValue = "" + RuntimeOptions.DEFAULT_CHUNK_SIZE, description = "Prefill chunk size (default: ${DEFAULT-VALUE}).")
    int chunk;

    @Option(names = "--backend", description = "Backend to prefer (default: the best device, CPU last).")
    String backend;

    @Option(names = "--bundles", paramLabel = "DIR", description = {
        "Take backends from the OSGi bundles in DIR instead of the class path; jars added to or",
        "removed from DIR while generating are plugged in or unplugged."})
    Path bundles;

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
        FlagChecks.nonNegative("-c", contextLength, "0 = the model's context");
        FlagChecks.threads("--threads", threads, System.err);
        Path modelPath = ModelLocator.resolve(model);
        long actualSeed = seed != null ? seed : System.nanoTime();
        SamplerConfig sampling = new SamplerConfig(temperature, llama2cSampling ? 0 : topK, topP,
                llama2cSampling ? 0 : minP, llama2cSampling ? 1 : repeatPenalty, repeatLastN, actualSeed,
                llama2cSampling ? SamplerConfig.Mode.LLAMA2C : SamplerConfig.Mode.STANDARD);
        RuntimeOptions options = RuntimeOptions.of(modelPath).withTokenizer(tokenizer).withBackend(backend)
                .withThreads(threads).withContextLength(contextLength).withChunkSize(chunk)
                .withProgress(ConsoleProgress.stderr());
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        try (BackendHost host = bundles == null ? null : BackendHost.start(bundles);
             LlmRuntime llm = host == null ? LlmRuntime.open(options) : LlmRuntime.open(options, host.registry())) {
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
                System.err.printf(Locale.ROOT, "%nprompt: %d tokens, %.1f tok/s | generated: %d tokens, %.1f tok/s | %s | seed %d | stop: %s%n",
                        r.promptTokens(), r.prefillTokensPerSecond(), r.tokens().length, r.decodeTokensPerSecond(),
                        llm.deviceName(), actualSeed, r.stopReason().name().toLowerCase(Locale.ROOT));
            }
        }
        return 0;
    }
}
