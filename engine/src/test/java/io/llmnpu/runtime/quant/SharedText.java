package io.llmnpu.runtime.quant;

import io.llmnpu.runtime.model.SharedModels;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/** The TinyStories texts in {@code ../shared/data} (see its README), found beside the shared models. */
public final class SharedText {

    private SharedText() {
    }

    public static String read(String name) throws IOException {
        Path file = SharedModels.file("stories260K.gguf").getParent().getParent().resolve("data").resolve(name);
        Assumptions.assumeTrue(Files.isRegularFile(file), "shared text " + file + " is absent");
        return Files.readString(file, StandardCharsets.UTF_8);
    }
}
