package io.llmnpu.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.llmnpu.runtime.api.CancellationToken;
import io.llmnpu.runtime.api.GenerationRequest;
import io.llmnpu.runtime.api.GenerationResult;
import io.llmnpu.runtime.api.LlmRuntime;
import io.llmnpu.runtime.api.RuntimeOptions;
import io.llmnpu.runtime.engine.BackendRegistry;
import io.llmnpu.tck.skip.RequiresBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The whole model on the OpenCL backend alone gives llama2.c's greedy reference text. */
@RequiresBackend("opencl")
class OpenClGenerationIT {
    private static final Path MODEL = Path.of(System.getProperty("llmnpu.shared.dir", "../shared"), "models", "stories260K.gguf");

    @Test
    void greedyReferenceTextOnOpenCl() {
        assumeTrue(Files.isRegularFile(MODEL), "stories260K.gguf not found at " + MODEL);
        BackendRegistry registry = BackendRegistry.discover(getClass().getClassLoader());
        try (LlmRuntime llm = LlmRuntime.open(RuntimeOptions.of(MODEL).withBackend("opencl").withContextLength(512), registry)) {
            assertEquals("opencl", llm.deviceName().substring(0, "opencl".length()));
            GenerationResult r = llm.generate(GenerationRequest.greedy("Once upon a time", 60), null, new CancellationToken());
            assertEquals("Once upon a time, there was a little girl named Lily. She loved to play outside in the park. "
                    + "One day, she saw a big, red ball. She wanted to play with it, but it was too high.\nLily",
                    "Once upon a time" + r.text());
        }
    }
}
