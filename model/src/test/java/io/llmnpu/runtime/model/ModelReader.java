package io.llmnpu.runtime.model;

import io.llmnpu.runtime.model.ModelFormat;
import io.llmnpu.runtime.model.ParsedModel;
import io.llmnpu.runtime.model.gguf.GgufFile;
import io.llmnpu.runtime.model.gguf.GgufModelReader;
import io.llmnpu.runtime.model.llama2c.Llama2cCheckpoint;
import java.lang.foreign.Arena;
import java.nio.file.Path;

/** Loads a Llama-family model from any supported file, choosing the reader by {@link ModelFormat#detect}. */
public final class ModelReader {
    private ModelReader() {
    }

    /**
     * Maps {@code file} into {@code arena} and reads it. The weights stay valid until the arena closes.
     *
     * @throws ModelFormatException if the file is unreadable, of no supported format, or invalid
     */
    public static ParsedModel read(Path file, Arena arena) {
        return switch (ModelFormat.detect(file)) {
            case GGUF -> GgufModelReader.read(GgufFile.open(file, arena));
            case LLAMA2C_V1, LLAMA2C_LEGACY -> Llama2cCheckpoint.read(file, arena).toParsedModel();
        };
    }
}
