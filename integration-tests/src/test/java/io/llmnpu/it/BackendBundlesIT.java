package io.llmnpu.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.backend.cpu.CpuBackendProvider;
import io.llmnpu.backend.vulkan.VulkanBackendProvider;
import io.llmnpu.it.twin.TwinActivator;
import io.llmnpu.runtime.api.CancellationToken;
import io.llmnpu.runtime.api.GenerationRequest;
import io.llmnpu.runtime.api.GenerationResult;
import io.llmnpu.runtime.api.LlmRuntime;
import io.llmnpu.runtime.api.RuntimeOptions;
import io.llmnpu.runtime.cli.Main;
import io.llmnpu.runtime.engine.BackendRegistry;
import io.llmnpu.runtime.osgi.BackendHost;
import io.llmnpu.runtime.osgi.BundleStatus;
import io.llmnpu.runtime.sampling.SamplerConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Backends as OSGi bundles, end to end: the CPU backend bundle the build made runs stories260K in
 * the embedded framework; a second backend bundle dropped into the bundles directory mid-generation
 * takes over, and removing it mid-generation hands the work back, with the tokens of a plain class
 * path CPU run, no error for the caller and nothing left running afterwards.
 */
class BackendBundlesIT {
    private static final Duration POLL = Duration.ofMillis(50);
    private static final GenerationRequest REQUEST = new GenerationRequest("Once upon a time", 60,
            SamplerConfig.standard(0.8f, 40, 0.95f, 0.0f, 777), false);

    @TempDir
    Path work;

    static Path model() {
        List<Path> roots = new ArrayList<>();
        String property = System.getProperty("llmnpu.shared.dir");
        if (property != null) {
            roots.add(Path.of(property));
        }
        String env = System.getenv("LLMNPU_SHARED_DIR");
        if (env != null) {
            roots.add(Path.of(env));
        }
        roots.add(Path.of("..", "shared"));
        roots.add(Path.of("..", "..", "shared"));
        for (Path root : roots) {
            Path file = root.resolve("models/stories260K.gguf");
            if (Files.isRegularFile(file)) {
                return file;
            }
        }
        Assumptions.abort("stories260K.gguf not found under " + roots);
        throw new AssertionError("unreachable");
    }

    private static RuntimeOptions options() {
        return RuntimeOptions.of(model()).withThreads(2).withChunkSize(8).withContextLength(128);
    }

    private Path twinBundle() throws IOException {
        Path dir = Files.createDirectories(work.resolve("built"));
        return BundleJars.write(dir.resolve("twin.jar"), Map.of(
                "Bundle-SymbolicName", "io.llmnpu.it.twin",
                "Bundle-Version", "1.0.0",
                "Bundle-Activator", TwinActivator.class.getName(),
                "Import-Package", "io.llmnpu.api.backend,io.llmnpu.api.graph,org.osgi.framework,org.osgi.util.tracker"),
                TwinActivator.class);
    }

    private static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting until " + what);
            }
        }
    }

    private static List<String> providerNames(BackendRegistry registry) {
        return registry.providers().stream().map(BackendProvider::name).toList();
    }

    private static Set<Path> osgiStorageDirs() throws IOException {
        try (Stream<Path> tmp = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return Set.copyOf(tmp.filter(p -> p.getFileName().toString().startsWith("llmnpu-osgi-")).toList());
        }
    }

    private static Set<Thread> threads() {
        return Set.copyOf(Thread.getAllStackTraces().keySet());
    }

    /** Threads alive now that were not before, ignoring JDK threads that start lazily and live for the JVM. */
    private static List<String> newThreads(Set<Thread> before) throws InterruptedException {
        List<String> jvmWide = List.of("Common-Cleaner", "ForkJoinPool.commonPool-worker-", "process reaper",
                "Attach Listener", "surefire-forkedjvm-");
        List<String> extra = List.of();
        for (int i = 0; i < 200; i++) {
            extra = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.isAlive() && !before.contains(t))
                    .filter(t -> jvmWide.stream().noneMatch(t.getName()::startsWith))
                    .map(Thread::getName).sorted().toList();
            if (extra.isEmpty()) {
                break;
            }
            Thread.sleep(50);
        }
        return extra;
    }

    @Test
    void secondBackendPluggedAndUnpluggedMidGenerationChangesNoToken() throws Exception {
        int[] plain;
        try (LlmRuntime llm = LlmRuntime.open(options())) {
            assertEquals("cpu/cpu0", llm.deviceName());
            plain = llm.generate(REQUEST, null, new CancellationToken()).tokens();
        }
        assertEquals(REQUEST.maxTokens(), plain.length);
        Path twin = twinBundle();
        Path bundles = Files.createDirectories(work.resolve("bundles"));
        BundleJars.drop(BundleJars.cpuBundle(), bundles, "llmnpu-backend-cpu-vector-bundle.jar");
        Set<Path> storageBefore = osgiStorageDirs();
        Set<Thread> threadsBefore = threads();

        List<String> deviceAtToken = new ArrayList<>();
        GenerationResult result;
        PrintStream stderr = System.err;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
        try (BackendHost host = BackendHost.start(bundles, POLL)) {
            BackendRegistry registry = host.registry();
            assertEquals(List.of("cpu"), providerNames(registry));
            BackendProvider bundled = registry.providers().getFirst();
            assertEquals(CpuBackendProvider.class.getName(), bundled.getClass().getName());
            assertNotSame(CpuBackendProvider.class, bundled.getClass(), "the provider must come from the bundle");

            try (LlmRuntime llm = LlmRuntime.open(options(), registry)) {
                assertEquals(List.of("cpu/cpu0"), llm.devices());
                result = llm.generate(REQUEST, (id, text) -> {
                    int n = deviceAtToken.size();
                    try {
                        if (n == 5) {
                            BundleJars.drop(twin, bundles, "twin.jar");
                        } else if (n == 10) {
                            await("the twin backend is plugged in", () -> providerNames(registry).contains("twin"));
                        } else if (n == 30) {
                            Files.delete(bundles.resolve("twin.jar"));
                        } else if (n == 40) {
                            // The registry drops the provider first, then tells the runtime: wait for both.
                            await("the twin backend is unplugged", () -> !providerNames(registry).contains("twin")
                                    && !llm.devices().contains("twin/twin0"));
                        }
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                    deviceAtToken.add(llm.deviceName());
                }, new CancellationToken());
                assertEquals(List.of("cpu/cpu0"), llm.devices());
            }
            List<BundleStatus> left = host.bundles();
            assertEquals(1, left.size(), left.toString());
            assertEquals("io.llmnpu.backend.cpu", left.getFirst().symbolicName());
            assertTrue(left.getFirst().active());
        } finally {
            System.setErr(stderr);
            stderr.print(log.toString(StandardCharsets.UTF_8));
        }

        assertArrayEquals(plain, result.tokens(), "tokens differ from a plain class path CPU run");
        assertEquals(GenerationResult.StopReason.LENGTH, result.stopReason());
        assertEquals("cpu/cpu0", deviceAtToken.get(5), deviceAtToken.toString());
        assertTrue(deviceAtToken.subList(6, 31).contains("twin/twin0"), "the plugged-in bundle ran steps: " + deviceAtToken);
        assertEquals("twin/twin0", deviceAtToken.get(30), deviceAtToken.toString());
        assertEquals("cpu/cpu0", deviceAtToken.get(40), deviceAtToken.toString());
        String logged = log.toString(StandardCharsets.UTF_8);
        assertFalse(logged.contains("[WARN]") || logged.contains("[ERROR]"), "problems logged:\n" + logged);
        assertEquals(List.of(), newThreads(threadsBefore), "threads left running after close");
        assertEquals(storageBefore, osgiStorageDirs(), "framework storage left behind");
    }

    /**
     * The Vulkan bundle (LWJGL and its native libraries inside) runs the model, is unplugged and plugged
     * in again twice while one greedy generation goes on; the text stays the reference text. Plugging it
     * in again loads LWJGL's JNI library into a new bundle class loader while the old one may still be
     * alive, which the JVM allows only from another file.
     */
    @Test
    void vulkanBundleUnpluggedAndPluggedInMidGenerationKeepsTheText() throws Exception {
        String reason = new VulkanBackendProvider().unavailableReason();
        Assumptions.assumeTrue(reason.isEmpty(), () -> "Vulkan not available here: " + reason);
        GenerationRequest greedy = GenerationRequest.greedy("Once upon a time", 60);
        Path bundles = Files.createDirectories(work.resolve("bundles"));
        BundleJars.drop(BundleJars.cpuBundle(), bundles, "cpu.jar");
        BundleJars.drop(BundleJars.vulkanBundle(), bundles, "vulkan.jar");
        Set<Path> storageBefore = osgiStorageDirs();
        Set<Path> nativesBefore = lwjglFolders();
        Set<Thread> threadsBefore = threads();

        List<String> deviceAtToken = new ArrayList<>();
        GenerationResult result;
        try (BackendHost host = BackendHost.start(bundles, POLL)) {
            BackendRegistry registry = host.registry();
            assertEquals(Set.of("cpu", "vulkan"), Set.copyOf(providerNames(registry)));
            try (LlmRuntime llm = LlmRuntime.open(options().withBackend("vulkan"), registry)) {
                assertEquals("vulkan/vulkan0", llm.deviceName());
                Path vulkanJar = bundles.resolve("vulkan.jar");
                result = llm.generate(greedy, (id, text) -> {
                    int n = deviceAtToken.size();
                    try {
                        switch (n) {
                            case 5, 35 -> Files.delete(vulkanJar);
                            case 10, 40 -> await("the Vulkan backend is unplugged", () -> !providerNames(registry).contains("vulkan"));
                            case 20 -> BundleJars.drop(BundleJars.vulkanBundle(), bundles, "vulkan.jar");
                            case 25 -> await("the Vulkan backend is plugged in", () -> providerNames(registry).contains("vulkan"));
                            default -> { }
                        }
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                    deviceAtToken.add(llm.deviceName());
                }, new CancellationToken());
            }
            assertEquals(List.of("io.llmnpu.backend.cpu"), host.bundles().stream().map(BundleStatus::symbolicName).toList());
        }
        assertEquals("Once upon a time, there was a little girl named Lily. She loved to play outside in the park. "
                + "One day, she saw a big, red ball. She wanted to play with it, but it was too high.\nLily",
                "Once upon a time" + result.text());
        assertEquals("vulkan/vulkan0", deviceAtToken.get(4), deviceAtToken.toString());
        assertEquals("cpu/cpu0", deviceAtToken.get(15), deviceAtToken.toString());
        assertTrue(deviceAtToken.subList(26, 36).contains("vulkan/vulkan0"), "plugged in again, Vulkan ran steps: " + deviceAtToken);
        assertEquals("cpu/cpu0", deviceAtToken.get(45), deviceAtToken.toString());
        assertEquals(List.of(), newThreads(threadsBefore), "threads left running after close");
        assertEquals(storageBefore, osgiStorageDirs(), "framework storage left behind");
        assertEquals(nativesBefore, lwjglFolders(), "extracted native libraries left behind");
    }

    private static Set<Path> lwjglFolders() throws IOException {
        try (Stream<Path> tmp = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return Set.copyOf(tmp.filter(p -> p.getFileName().toString().startsWith("llmnpu-lwjgl-")).toList());
        }
    }

    @Test
    void backendsCommandListsTheBundlesAndTheirDevices() throws Exception {
        Path bundles = Files.createDirectories(work.resolve("bundles"));
        BundleJars.drop(BundleJars.cpuBundle(), bundles, "cpu.jar");
        BundleJars.drop(twinBundle(), bundles, "twin.jar");
        StringWriter out = new StringWriter();
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(new PrintWriter(out, true));
        assertEquals(0, cli.execute("backends", "--threads", "2", "--bundles", bundles.toString()));
        String text = out.toString();

        List<List<String>> rows = text.lines().map(l -> List.of(l.strip().split("\\s{2,}"))).toList();
        assertTrue(rows.stream().anyMatch(r -> r.size() == 3 && r.get(0).equals("cpu")
                && r.get(1).startsWith("io.llmnpu.backend.cpu ") && r.get(2).equals("available")), text);
        assertTrue(rows.stream().anyMatch(r -> r.size() == 3 && r.get(0).equals("twin")
                && r.get(1).equals("io.llmnpu.it.twin 1.0.0") && r.get(2).equals("available")), text);
        assertTrue(rows.contains(List.of("cpu.jar", "io.llmnpu.backend.cpu", rows.stream()
                .filter(r -> r.getFirst().equals("cpu.jar")).findFirst().orElseThrow().get(2), "ACTIVE", "cpu")), text);
        // The GPU-kind twin is listed before the CPU.
        int twinRow = text.indexOf("twin/twin0  GPU");
        int cpuRow = text.indexOf("cpu/cpu0    CPU");
        assertTrue(twinRow > 0 && cpuRow > twinRow, text);
        List<String> linear = rows.stream().filter(r -> r.size() == 5 && r.get(0).equals("Linear")
                && r.get(1).equals("Q8_0 2048x2048") && r.get(2).equals("256")).findFirst().orElseThrow(() -> new AssertionError(text));
        assertEquals(linear.get(3), linear.get(4), "the twin estimates exactly as the CPU it wraps");
        assertTrue(linear.get(4).startsWith("native "), text);
    }
}
