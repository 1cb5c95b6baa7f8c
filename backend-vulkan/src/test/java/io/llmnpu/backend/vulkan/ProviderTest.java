package io.llmnpu.backend.vulkan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.backend.DeviceKind;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.ServiceLoader;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Discovery through ServiceLoader, and clear reasons where Vulkan is missing. */
class ProviderTest {

    @Test
    void serviceLoaderFindsTheVulkanProvider() {
        List<BackendProvider> found = ServiceLoader.load(BackendProvider.class).stream()
                .map(ServiceLoader.Provider::get).filter(p -> p.name().equals("vulkan")).toList();
        assertEquals(1, found.size());
        assertTrue(found.getFirst() instanceof VulkanBackendProvider);
    }

    @Test
    void missingLoaderGivesAnActionableReason() {
        VulkanBackendProvider provider = new VulkanBackendProvider(() -> {
            throw new UnsatisfiedLinkError("Failed to locate library: libvulkan.so.1");
        });
        String reason = provider.unavailableReason();
        assertTrue(reason.contains("libvulkan") && reason.contains("mesa-vulkan-drivers"), reason);
        BackendException e = assertThrows(BackendException.class, () -> provider.create(BackendOptions.defaults()));
        assertTrue(e.getMessage().contains(reason), e.getMessage());
    }

    @Test
    void lwjglFailingToInitialiseGivesAReason() {
        String reason = new VulkanBackendProvider(() -> {
            throw new IllegalStateException("There are no Vulkan drivers installed");
        }).unavailableReason();
        assertTrue(reason.contains("could not be used") && reason.contains("There are no Vulkan drivers installed"), reason);
    }

    @Test
    void reasonsFromTheDriverArePassedOn() {
        String reason = new VulkanBackendProvider(() -> {
            throw new BackendException("the Vulkan loader found no driver; install one");
        }).unavailableReason();
        assertEquals("the Vulkan loader found no driver; install one", reason);
    }

    /** A JVM whose Vulkan loader is pointed at a driver list that does not exist: the real "no driver" case. */
    @Test
    void aMachineWithoutDriversReportsNoDriver(@TempDir Path empty) throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(java.toString(), "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow", "-cp", System.getProperty("java.class.path"),
                ProviderProbe.class.getName());
        String missing = empty.resolve("no-such-driver.json").toString();
        pb.environment().put("VK_ICD_FILENAMES", missing);
        pb.environment().put("VK_DRIVER_FILES", missing);
        pb.redirectErrorStream(true);
        Process process = pb.start();
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "probe did not finish");
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, process.exitValue(), output);
        String reason = output.lines().filter(l -> l.startsWith("reason: ")).findFirst().orElse("");
        assertTrue(reason.contains("found no driver") || reason.contains("could not be loaded"),
                "expected a missing-driver reason, got: " + output);
        assertTrue(reason.contains("mesa-vulkan-drivers"), "the reason names what to install: " + reason);
    }

    @Test
    void backendListsEveryDeviceWithKindAndMemory(@TempDir Path cache) {
        VulkanBackendProvider provider = new VulkanBackendProvider();
        assumeTrue(provider.unavailableReason().isEmpty(), provider::unavailableReason);
        try (Backend backend = provider.create(BackendOptions.defaults(), VulkanOptions.defaults().withCacheDir(cache))) {
            assertEquals("vulkan", backend.name());
            assertFalse(backend.devices().isEmpty());
            for (int i = 0; i < backend.devices().size(); i++) {
                Device d = backend.devices().get(i);
                VulkanDevice vk = (VulkanDevice) d;
                assertEquals("vulkan" + i, d.name());
                assertEquals(vk.info().localHeapBytes(), d.memoryBytes());
                assertTrue(d.memoryBytes() > 0);
                assertEquals(vk.info().isCpu() ? DeviceKind.CPU : DeviceKind.GPU, d.kind());
                if (vk.info().name().startsWith("llvmpipe")) {
                    assertEquals(DeviceKind.CPU, d.kind(), "lavapipe runs on the CPU");
                    assertTrue(vk.info().subgroupArithmetic(), "lavapipe has subgroup arithmetic");
                    assertTrue(vk.usesSubgroups());
                }
            }
        }
    }

    /** Entry point of the child JVM in {@link #aMachineWithoutDriversReportsNoDriver}. */
    static final class ProviderProbe {
        public static void main(String[] args) {
            System.out.println("reason: " + new VulkanBackendProvider().unavailableReason());
        }
    }
}
