package io.llmnpu.runtime.api;

import java.nio.file.Path;
import java.util.Objects;

/**
 * How to build an {@link LlmRuntime}.
 *
 * @param model         a GGUF file or a llama2.c checkpoint
 * @param tokenizer     tokenizer file for llama2.c checkpoints; null to use the GGUF's own or to look
 *                      next to the checkpoint ({@code tok<vocab>.bin}, then {@code tokenizer.bin})
 * @param backend       backend to run on first (e.g. {@code cpu}), the others staying as fallbacks; null or
 *                      empty for the default order (best estimated time first, CPU last)
 * @param threads       kernel threads; 0 for one per core
 * @param contextLength positions a generation may hold; 0 for the model's own context length
 * @param chunkSize     prefill chunk size: prompts run as static graphs of this many rows
 * @param progress      receives load and compile progress
 */
public record RuntimeOptions(Path model, Path tokenizer, String backend, int threads, int contextLength,
                             int chunkSize, ProgressListener progress) {

    public static final int DEFAULT_CHUNK_SIZE = 256;

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
    }

    /** Defaults for everything but the model path. */
    public static RuntimeOptions of(Path model) {
        return new RuntimeOptions(model, null, null, 0, 0, DEFAULT_CHUNK_SIZE, null);
    }

    public RuntimeOptions withTokenizer(Path file) {
        return new RuntimeOptions(model, file, backend, threads, contextLength, chunkSize, progress);
    }

    public RuntimeOptions withBackend(String name) {
        return new RuntimeOptions(model, tokenizer, name, threads, contextLength, chunkSize, progress);
    }

    public RuntimeOptions withThreads(int n) {
        return new RuntimeOptions(model, tokenizer, backend, n, contextLength, chunkSize, progress);
    }

    public RuntimeOptions withContextLength(int n) {
        return new RuntimeOptions(model, tokenizer, backend, threads, n, chunkSize, progress);
    }

    public RuntimeOptions withChunkSize(int n) {
        return new RuntimeOptions(model, tokenizer, backend, threads, contextLength, n, progress);
    }

    public RuntimeOptions withProgress(ProgressListener listener) {
        return new RuntimeOptions(model, tokenizer, backend, threads, contextLength, chunkSize, listener);
    }
}
