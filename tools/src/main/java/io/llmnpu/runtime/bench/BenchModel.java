package io.llmnpu.runtime.bench;

import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.load.LoadedModel;
import io.llmnpu.runtime.model.ModelConfig;
import java.nio.file.Path;

/**
 * A benchmarked model as the results describe it.
 *
 * @param file       the model file
 * @param name       {@code general.name}, else the file name without extension
 * @param type       type of the attention matrices (what "a Q8_0 model" means)
 * @param sizeBytes  bytes of all tensors
 * @param parameters values in all tensors
 * @param config     hyper-parameters (for FLOP counts)
 * @param decodeWeightBytes weight bytes one decode step reads: every tensor once, except that of the
 *                   token embedding table only one row (unless the LM head shares it)
 */
public record BenchModel(Path file, String name, String type, long sizeBytes, long parameters, ModelConfig config,
                         long decodeWeightBytes) {

    /**
     * Bytes a decode test of {@code tokens} tokens from an empty cache reads per token on average: the
     * weights, plus the F32 keys and values of every layer at the positions attended (1..tokens).
     */
    public double decodeBytesPerToken(int tokens) {
        double kvPerPosition = 2.0 * config.layers() * config.kvDim() * Float.BYTES;
        return decodeWeightBytes + kvPerPosition * (tokens + 1) / 2.0;
    }

    static BenchModel of(LoadedModel m) {
        // Converters often write the architecture as the name ("llama"), which says nothing: use the file's.
        Object general = m.metadata().get("general.name");
        String name = general instanceof String s && !s.isBlank() && !s.equals(m.config().architecture())
                ? s : m.source().getFileName().toString().replaceFirst("\\.(gguf|bin)$", "");
        long params = m.tensors().stream().mapToLong(t -> t.shape().elements()).sum();
        Tensor wq = m.weights().layers().getFirst().wq();
        Tensor embedding = m.weights().tokenEmbedding();
        long decodeBytes = m.weightBytes();
        if (!m.weights().tiedOutput()) {
            decodeBytes += embedding.byteSize() / embedding.shape().dim(0) - embedding.byteSize();
        }
        return new BenchModel(m.source(), name, wq.dtype().name(), m.weightBytes(), params, m.config(), decodeBytes);
    }
}
