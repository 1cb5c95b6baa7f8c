package io.llmnpu.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.llmnpu.api.backend.Backend;
import io.llmnpu.api.backend.BackendException;
import io.llmnpu.api.backend.BackendOptions;
import io.llmnpu.api.backend.BackendProvider;
import io.llmnpu.api.backend.Device;
import io.llmnpu.api.backend.DeviceKind;
import io.llmnpu.tck.skip.BackendAssumptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.ServiceLoader;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Discovery through ServiceLoader, and clear reasons where OpenCL is missing. */
class ProviderTest {

    @Test
    void serviceLoaderFindsTheOpenClProvider() {
        List<BackendProvider> found = ServiceLoader.load(BackendProvider.class).stream()
                .map(ServiceLoader.Provider::get).filter(p -> p.name().equals("opencl")).toList();
        assertEquals(1, found.size());
        assertTrue(found.getFirst() instanceof OpenClBackendProvider);
    }

    @Test
    void missingLibraryGivesAnActionableReason() {
        OpenClBackendProvider provider = new OpenClBackendProvider(() -> {
            throw new UnsatisfiedLinkError("libOpenCL.so: cannot open shared object file");
        });
        String reason = provider.unavailableReason();
        assertTrue(reason.contains("OpenCL library could not be loaded") && reason.contains("ocl-icd-libopencl1"), reason);
        BackendException e = assertThrows(BackendException.class, () -> provider.create(BackendOptions.defaults()));
        assertTrue(e.getMessage().contains(reason));
    }

    @Test
    void missingPlatformOrDevicesGiveReasons() {
        String noPlatform = new OpenClBackendProvider(() -> {
            throw new BackendException("no OpenCL platform is installed");
        }).unavailableReason();
        assertEquals("no OpenCL platform is installed", noPlatform);
        String noDevice = new OpenClBackendProvider(List::of).unavailableReason();
        assertTrue(noDevice.contains("none reports a device"), noDevice);
    }

    /** A JVM whose ICD loader sees an empty vendor folder: the real "no driver" situation. */
    @Test
    void aMachineWithoutDriversReportsNoPlatform(@TempDir Path emptyVendors) throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(java.toString(), "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), ProviderProbe.class.getName());
        pb.environment().put("OCL_ICD_VENDORS", emptyVendors.toString());
        pb.redirectErrorStream(true);
        Process process = pb.start();
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "probe did not finish");
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, process.exitValue(), output);
        String reason = output.lines().filter(l -> l.startsWith("reason: ")).findFirst().orElse("");
        assertTrue(reason.contains("no OpenCL platform") || reason.contains("OpenCL library could not be loaded"),
                "expected a missing-platform reason, got: " + output);
    }

    @Test
    void backendListsEveryDeviceWithKindAndMemory(@TempDir Path cache) {
        OpenClBackendProvider provider = new OpenClBackendProvider();
        BackendAssumptions.assumeAvailable(provider);
        try (Backend backend = provider.create(BackendOptions.defaults(),
                new OpenClOptions(cache, OpenClOptions.StateResidency.KEEP_RESIDENT))) {
            assertEquals("opencl", backend.name());
            assertFalse(backend.devices().isEmpty());
            for (int i = 0; i < backend.devices().size(); i++) {
                Device d = backend.devices().get(i);
                OpenClDevice cl = (OpenClDevice) d;
                assertEquals("opencl" + i, d.name());
                assertEquals(cl.info().globalMemBytes(), d.memoryBytes());
                assertTrue(d.memoryBytes() > 0);
                assertEquals(cl.info().isCpu() ? DeviceKind.CPU : DeviceKind.GPU, d.kind());
                if (cl.info().platformName().contains("Portable Computing Language")) {
                    assertEquals(DeviceKind.CPU, d.kind(), "PoCL's pthread device is a CPU");
                }
            }
        }
    }

    /** Entry point of the child JVM in {@link #aMachineWithoutDriversReportsNoPlatform}. */
    static final class ProviderProbe {
        public static void main(String[] args) {
            System.out.println("reason: " + new OpenClBackendProvider().unavailableReason());
        }
    }
}
