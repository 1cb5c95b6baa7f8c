package io.llmnpu.runtime.model.load;

import io.llmnpu.api.tensor.DType;
import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.ModelConfig;
import io.llmnpu.runtime.model.ModelWeights;
import io.llmnpu.runtime.tokenizer.Tokenizer;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A model ready to run: config, weights mapped from its file, and tokenizer. Closing it unmaps the
 * file; its tensors must not be used afterwards.
 *
 * @param source    the model file
 * @param format    file format, e.g. {@code GGUF v3} or {@code llama2.c legacy}
 * @param config    hyper-parameters
 * @param weights   the tensors the forward pass uses
 * @param tensors   every tensor in the file, in file order
 * @param metadata  the file's key/value metadata (empty for llama2.c files)
 * @param tokenizer the tokenizer
 * @param arena     owner of the mapping
 */
public record LoadedModel(Path source, String format, ModelConfig config, ModelWeights weights,
                          List<Tensor> tensors, Map<String, Object> metadata, Tokenizer tokenizer, Arena arena)
        implements AutoCloseable {

    /** Bytes of all tensors in the file. */
    public long weightBytes() {
        return tensors.stream().mapToLong(Tensor::byteSize).sum();
    }

    /** Tensor count and bytes per dtype. */
    public Map<DType, long[]> tensorsByType() {
        Map<DType, long[]> byType = new EnumMap<>(DType.class);
        for (Tensor t : tensors) {
            long[] c = byType.computeIfAbsent(t.dtype(), d -> new long[2]);
            c[0]++;
            c[1] += t.byteSize();
        }
        return byType;
    }

    /** One line: architecture, shape and size. */
    public String description() {
        ModelConfig c = config;
        return String.format(Locale.ROOT, "%s dim %d, %d layers, %d/%d heads, ffn %d, vocab %d, %s, %.1f MiB",
                c.architecture(), c.dim(), c.layers(), c.heads(), c.kvHeads(), c.hiddenDim(), c.vocabSize(),
                weights.layers().getFirst().wq().dtype(), weightBytes() / 1048576.0);
    }

    @Override
    public void close() {
        arena.close();
    }
}
