package io.llmnpu.runtime.api;

import io.llmnpu.runtime.model.ProgressListener;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;

/**
 * How to build an {@link LlmRuntime}.
 *
 * @param model         a GGUF file or a llama2.c checkpoint
 * @param tokenizer     tokenizer file for llama2.c checkpoints; null to use the GGUF's own or to look
 *                      next to the checkpoint ({@code tok<vocab>.bin}, then {@code tokenizer.bin})
 * @param backend       backend whose devices take every op they support (e.g. {@code cpu}), the others
 *                      taking the rest and standing by as fallbacks; null or empty to place by cost alone
 * @param threads       kernel threads; 0 for one per core
 * @param contextLength positions a generation may hold; 0 for the model's own context length
 * @param chunkSize     prefill chunk size: prompts run as static graphs of this many rows
 * @param progress      receives load and compile progress
 * @param npu           {@value #NPU_AUTO} (prompts run on an NPU when a device of kind NPU is present and the
 *                      model is calibrated), {@value #NPU_OFF} (float only), or the name of the NPU backend to use
 * @param calibration   calibration file of the model; null for {@code MODEL.calib.json} beside it, else the
 *                      per-user cache (see {@code CalibrationStore})
 * @param policy        scheduling policy of prompts on several devices; null for critical-path
 * @param npuMode       INT8 configuration of the NPU path: {@code shadow}, {@code shadow-pruned}, {@code clipped}
 *                      or {@code naive}; null for shadow
 */
public record RuntimeOptions(Path model, Path tokenizer, String backend, int threads, int contextLength,
                             int chunkSize, ProgressListener progress, String npu, Path calibration, String policy,
                             String npuMode) {

    public static final int DEFAULT_CHUNK_SIZE = 256;
    public static final String NPU_AUTO = "auto";
    public static final String NPU_OFF = "off";

    public RuntimeOptions {
        Objects.requireNonNull(model, "model");
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be >= 0, got " + threads);
        }
        if (contextLength < 0) {
            throw new IllegalArgumentException("context length must be >= 0, got " + contextLength);
        }
        if (chunkSize < 1 || chunkSize > 4096) {
            throw new IllegalArgumentException("chunk size must be in 1..4096, got " + chunkSize);
        }
        progress = progress == null ? ProgressListener.none() : progress;
        npu = npu == null || npu.isBlank() ? NPU_AUTO : npu.strip();
    }

    /** Defaults for everything but the model path. */
    public static RuntimeOptions of(Path model) {
        return new RuntimeOptions(model, null, null, 0, 0, DEFAULT_CHUNK_SIZE, null, NPU_AUTO, null, null, null);
    }

    /** Whether prompts may use an NPU at all. */
    public boolean npuAllowed() {
        return !npu.equalsIgnoreCase(NPU_OFF);
    }

    /** The NPU backend asked for by name, or null for auto and off. */
    public String npuBackend() {
        String n = npu.toLowerCase(Locale.ROOT);
        return n.equals(NPU_AUTO) || n.equals(NPU_OFF) ? null : npu;
    }

    public RuntimeOptions withTokenizer(Path file) {
        return new RuntimeOptions(model, file, backend, threads, contextLength, chunkSize, progress, npu, calibration, policy, npuMode);
    }

    public RuntimeOptions withBackend(String name) {
        return new RuntimeOptions(model, tokenizer, name, threads, contextLength, chunkSize, progress, npu, calibration, policy, npuMode);
    }

    public RuntimeOptions withThreads(int n) {
        return new RuntimeOptions(model, tokenizer, backend, n, contextLength, chunkSize, progress, npu, calibration, policy, npuMode);
    }

    public RuntimeOptions withContextLength(int n) {
        return new RuntimeOptions(model, tokenizer, backend, threads, n, chunkSize, progress, npu, calibration, policy, npuMode);
    }

    public RuntimeOptions withChunkSize(int n) {
        return new RuntimeOptions(model, tokenizer, backend, threads, contextLength, n, progress, npu, calibration, policy, npuMode);
    }

    public RuntimeOptions withProgress(ProgressListener listener) {
        return new RuntimeOptions(model, tokenizer, backend, threads, contextLength, chunkSize, listener, npu, calibration, policy, npuMode);
    }

    /** {@value #NPU_AUTO}, {@value #NPU_OFF}, or an NPU backend's name. */
    public RuntimeOptions withNpu(String choice) {
        return new RuntimeOptions(model, tokenizer, backend, threads, contextLength, chunkSize, progress, choice, calibration, policy, npuMode);
    }

    public RuntimeOptions withCalibration(Path file) {
        return new RuntimeOptions(model, tokenizer, backend, threads, contextLength, chunkSize, progress, npu, file, policy, npuMode);
    }

    public RuntimeOptions withPolicy(String name) {
        return new RuntimeOptions(model, tokenizer, backend, threads, contextLength, chunkSize, progress, npu, calibration, name, npuMode);
    }

    public RuntimeOptions withNpuMode(String mode) {
        return new RuntimeOptions(model, tokenizer, backend, threads, contextLength, chunkSize, progress, npu, calibration, policy, mode);
    }
}
