package io.llmnpu.runtime.model;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A model read from a file: its hyper-parameters and its weights, which are views of the file mapped
 * in the arena the loader was given (they are valid until that arena is closed).
 *
 * @param file    the file it was read from
 * @param format  the file format
 * @param config  hyper-parameters
 * @param weights tensors, checked against {@code config}
 */
public record ParsedModel(Path file, ModelFormat format, ModelConfig config, ModelWeights weights) {
    public ParsedModel {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(weights, "weights");
    }
}
