package io.llmnpu.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.runtime.api.CancellationToken;
import io.llmnpu.runtime.api.GenerationRequest;
import io.llmnpu.runtime.api.GenerationResult;
import io.llmnpu.runtime.api.LlmRuntime;
import io.llmnpu.runtime.api.RuntimeOptions;
import io.llmnpu.runtime.cli.Main;
import io.llmnpu.runtime.osgi.BackendHost;
import io.llmnpu.runtime.sampling.SamplerConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The CPU backend with oneDNN's int8 products as an OSGi bundle, alone in the bundles directory: it
 * plugs in, says whether oneDNN is usable here, and where it is runs a Q8_0 model whose prompt is long
 * enough for the int8 prefill, then unplugs cleanly.
 */
class NativeBundleIT {

    /** Longer than the native backend's minimum rows for int8 products, so the prompt chunk runs on oneDNN. */
    private static final String PROMPT = "Once upon a time there was a little robot who loved to count the stars "
            + "above the quiet town every night";

    @TempDir
    Path work;

    /**
     * The Vector API kernels in the bundle are the classes the {@code backend-cpu-vector} module built,
     * byte for byte (the same ones this test's class path holds), not a second copy compiled elsewhere.
     */
    @Test
    void bundleEmbedsTheVectorApiBackendsOwnClasses() throws Exception {
        List<String> compared = new ArrayList<>();
        try (JarFile jar = new JarFile(BundleJars.nativeBundle().toFile())) {
            for (JarEntry entry : jar.stream().toList()) {
                String name = entry.getName();
                if (!name.startsWith("io/llmnpu/backend/cpu/") || name.startsWith("io/llmnpu/backend/cpu/onednn/")
                        || !name.endsWith(".class")) {
                    continue;
                }
                try (InputStream bundled = jar.getInputStream(entry);
                     InputStream built = NativeBundleIT.class.getClassLoader().getResourceAsStream(name)) {
                    assertTrue(built != null, name + " is in the bundle but not in backend-cpu-vector");
                    assertTrue(Arrays.equals(bundled.readAllBytes(), built.readAllBytes()), name + " differs from backend-cpu-vector's");
                }
                compared.add(name);
            }
        }
        assertTrue(compared.contains("io/llmnpu/backend/cpu/CpuBackend.class"), "the bundle embeds the Vector API backend: " + compared);
    }

    @Test
    void bundleRunsAQ80ModelWithInt8Prefill() throws Exception {
        Path bundles = Files.createDirectories(work.resolve("bundles"));
        BundleJars.drop(BundleJars.nativeBundle(), bundles, "cpu-native.jar");
        Path model = work.resolve("small-q8.gguf");
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(new PrintWriter(new StringWriter(), true));
        assertEquals(0, cli.execute("synth", model.toString(), "--dim", "128", "--ffn", "256", "--layers", "2",
                "--heads", "4", "--kv-heads", "2", "--vocab", "320", "--ctx", "256", "--type", "q8_0"));

        try (BackendHost host = BackendHost.start(bundles, Duration.ofMillis(50))) {
            List<BackendProvider> providers = host.registry().providers();
            assertEquals(List.of("cpu-native"), providers.stream().map(BackendProvider::name).toList());
            String reason = providers.getFirst().unavailableReason();
            if (!reason.isEmpty()) {
                assertTrue(reason.contains("libdnnl") || reason.contains("int8"), reason);
                Assumptions.abort("cpu-native cannot run here: " + reason);
            }
            RuntimeOptions options = RuntimeOptions.of(model).withThreads(2).withChunkSize(64);
            try (LlmRuntime llm = LlmRuntime.open(options, host.registry())) {
                assertEquals(List.of("cpu-native/cpu0"), llm.devices());
                assertTrue(llm.tokenizer().encode(PROMPT, true).length >= 16, "the prompt must reach the int8 path");
                GenerationResult result = llm.generate(new GenerationRequest(PROMPT, 12, SamplerConfig.greedy(), false),
                        null, new CancellationToken());
                assertEquals(12, result.tokens().length);
            }
        }
    }
}
