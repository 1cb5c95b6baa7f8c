package io.llmnpu.runtime.cli;

import io.llmnpu.runtime.api.LlmRuntime;
import io.llmnpu.runtime.api.RuntimeOptions;
import io.llmnpu.runtime.osgi.BackendHost;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The options that say which model runs where, shared by the commands that run a model
 * ({@code generate}, {@code chat}, {@code serve}): model files, threads, context, chunking, devices, and the
 * NPU path (which NPU, which calibration, which INT8 mode, which scheduling policy).
 */
final class RuntimeMixin {

    @Option(names = {"-m", "--model"}, description = "GGUF file or llama2.c checkpoint (default: stories260K from ../shared/models or $LLMNPU_MODEL).")
    Path model;

    @Option(names = "--tokenizer", description = "Tokenizer .bin for a llama2.c checkpoint (default: found next to it).")
    Path tokenizer;

    @Option(names = "--threads", defaultValue = "0", description = "Kernel threads; 0 = one per core (default).")
    int threads;

    @Option(names = {"-c", "--ctx"}, defaultValue = "0", description = "Context length (of each KV slot when serving); 0 = the model's (default).")
    int contextLength;

    @Option(names = "--chunk", defaultValue = "" + RuntimeOptions.DEFAULT_CHUNK_SIZE, description = "Prefill chunk size (default: ${DEFAULT-VALUE}).")
    int chunk;

    @Option(names = "--backend", description = "Backend to prefer (default: the best device, CPU last).")
    String backend;

    @Option(names = "--npu", defaultValue = RuntimeOptions.NPU_AUTO, paramLabel = "auto|off|NAME", description = {
        "Run prompts with their linear layers in INT8 on an NPU: auto (default) when a device of kind NPU is",
        "present and the model is calibrated; off for float only; or the NPU backend to use (e.g. npu-ref)."})
    String npu;

    @Option(names = "--calib", paramLabel = "FILE", description = "Calibration of the model (default: MODEL.calib.json beside it, else the per-user cache).")
    Path calib;

    @Option(names = "--npu-mode", paramLabel = "MODE", description = "INT8 configuration of the NPU path: shadow (default), shadow-pruned, clipped, naive.")
    String npuMode;

    @Option(names = "--policy", paramLabel = "NAME", description = "Scheduling policy of prompts on several devices: critical-path (default), greedy, greedy-max-unlock, in-order.")
    String policy;

    @Option(names = "--bundles", paramLabel = "DIR", description = {
        "Take backends from the OSGi bundles in DIR instead of the class path; jars added to or",
        "removed from DIR while the model runs are plugged in or unplugged."})
    Path bundles;

    /** Refuses bad -c and --threads values (and warns of too many threads) before anything loads. */
    void checkFlags() {
        FlagChecks.nonNegative("-c", contextLength, "0 = the model's context");
        FlagChecks.threads("--threads", threads, System.err);
    }

    RuntimeOptions options() {
        return RuntimeOptions.of(ModelLocator.resolve(model)).withTokenizer(tokenizer).withBackend(backend)
                .withThreads(threads).withContextLength(contextLength).withChunkSize(chunk)
                .withNpu(npu).withCalibration(calib).withNpuMode(npuMode).withPolicy(policy)
                .withProgress(ConsoleProgress.stderr());
    }

    /** The backend host for {@code --bundles}, or null when backends come from the class path. */
    BackendHost startHost() {
        return bundles == null ? null : BackendHost.start(bundles);
    }

    /** Opens the runtime on {@code host}'s backends, or on the class path's when it is null. */
    LlmRuntime open(BackendHost host) {
        RuntimeOptions options = options();
        return host == null ? LlmRuntime.open(options) : LlmRuntime.open(options, host.registry());
    }
}
