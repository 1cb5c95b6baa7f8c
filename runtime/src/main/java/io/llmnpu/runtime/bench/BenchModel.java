package io.llmnpu.runtime.bench;

import io.llmnpu.api.tensor.Tensor;
import io.llmnpu.runtime.model.LoadedModel;
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
 */
public record BenchModel(Path file, String name, String type, long sizeBytes, long parameters, ModelConfig config) {

    static BenchModel of(LoadedModel m) {
        // Converters often write the architecture as the name ("llama"), which says nothing: use the file's.
        Object general = m.metadata().get("general.name");
        String name = general instanceof String s && !s.isBlank() && !s.equals(m.config().architecture())
                ? s : m.source().getFileName().toString().replaceFirst("\\.(gguf|bin)$", "");
        long params = m.tensors().stream().mapToLong(t -> t.shape().elements()).sum();
        Tensor wq = m.weights().layers().getFirst().wq();
        return new BenchModel(m.source(), name, wq.dtype().name(), m.weightBytes(), params, m.config());
    }
}
